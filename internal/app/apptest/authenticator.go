package apptest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"vigie/internal/app"
	"vigie/internal/auth"
	"vigie/internal/charter"
)

// Authenticator is a staff member's authenticator application in tests (R14): it knows the TOTP
// secret and gives codes as a person would, never one twice — when the current step's code was
// used, it gives the next step's, which the one-step skew accepts.
type Authenticator struct {
	Secret string // base32, as the enrolment page shows it (spaces allowed)
	last   int64
}

// NewAuthenticator is the application into which the secret shown at enrolment was typed.
func NewAuthenticator(secret string) *Authenticator {
	return &Authenticator{Secret: strings.ReplaceAll(secret, " ", "")}
}

// Code returns a code the server accepts at now and that this authenticator never gave.
func (d *Authenticator) Code(t testing.TB, now time.Time) string {
	t.Helper()
	step := now.Unix() / 30
	if step <= d.last {
		step = d.last + 1
	}
	if step > now.Unix()/30+1 {
		t.Fatalf("apptest: more than two sign-ins of one account within 30 s: use a fake clock")
	}
	return d.CodeAt(t, step)
}

// CodeAt returns the code of a given time step, whether or not it was given before.
func (d *Authenticator) CodeAt(t testing.TB, step int64) string {
	t.Helper()
	code, err := hotp.GenerateCodeCustom(d.Secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatalf("apptest: totp code: %v", err)
	}
	if step > d.last {
		d.last = step
	}
	return code
}

// Enrol enrols a user's second factor through the service, as the web enrolment page does, and
// returns their authenticator and recovery codes. As the first web sign-in would, it also accepts
// the data-governance charter in force for them (R43), so that they can then sign in through the
// API.
func Enrol(t testing.TB, a *app.App, u auth.User) (*Authenticator, []string) {
	t.Helper()
	const binding = "apptest-enrolment"
	e, err := a.Auth.BeginEnrolment(u, binding)
	if err != nil {
		t.Fatalf("apptest: begin enrolment: %v", err)
	}
	d := NewAuthenticator(e.Secret)
	codes, err := a.Auth.ConfirmEnrolment(context.Background(), u, binding, e.Sealed, d.Code(t, a.Now()))
	if err != nil {
		t.Fatalf("apptest: confirm enrolment: %v", err)
	}
	AcceptCharter(t, a, u)
	return d, codes
}

// AcceptCharter accepts the data-governance charter in force for a staff member (R43), as the
// charter page does after their first sign-in.
func AcceptCharter(t testing.TB, a *app.App, u auth.User) {
	t.Helper()
	ctx := context.Background()
	cur, err := a.Charter.Current(ctx)
	if err != nil {
		t.Fatalf("apptest: current charter: %v", err)
	}
	if _, err := a.Charter.Acknowledge(ctx, charter.Staff{UserID: u.ID, Department: u.Department}, cur.SHA256); err != nil {
		t.Fatalf("apptest: accept the charter: %v", err)
	}
}
