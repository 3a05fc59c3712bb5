package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/record"
)

// TestR33_RenewalPageAnswersInOneClick: the page a renewal message links to keeps the prospect in
// touch (their last contact becomes today) or records their objection, in one click and without
// signing in; a link that was not signed for the person, or no answer, changes nothing.
func TestR33_RenewalPageAnswersInOneClick(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		ctx := context.Background()
		prospect := func(email string) int64 {
			p, err := a.Records.Create(ctx, record.Actor{Department: "prospection", Purposes: []string{"prospection"}}, "persons",
				record.Input{Channel: "phone", Text: map[string]string{"first_name": "Yann", "last_name": "Kerjean", "email": email}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.DB.ExecContext(ctx, `UPDATE persons SET last_contact_at = $1 WHERE id = $2`, a.Now().UTC().AddDate(-3, 0, 10), p.ID); err != nil {
				t.Fatal(err)
			}
			return p.ID
		}
		link := func(id, signedFor int64) url.Values {
			return url.Values{"p": {strconv.FormatInt(id, 10)}, "t": {a.Lifecycle.RenewalToken(signedFor)}}
		}
		lastContactYear := func(id int64) int {
			var raw any
			if err := a.DB.QueryRowContext(ctx, `SELECT last_contact_at FROM persons WHERE id = $1`, id).Scan(&raw); err != nil {
				t.Fatal(err)
			}
			v, err := a.Dict.Table("persons").Column("last_contact_at").FromDB(raw)
			if err != nil {
				t.Fatal(err)
			}
			return v.(time.Time).Year()
		}
		stays, leaves := prospect("reste@exemple.fr"), prospect("part@exemple.fr")
		before := lastContactYear(stays)

		if res, _ := w.request("GET", "/contact/renouvellement?"+link(stays, leaves).Encode(), "", nil, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("a link signed for another person: status %d, want 404", res.StatusCode)
		}
		forged := link(stays, leaves)
		forged.Set("reponse", "rester")
		if res, _ := w.request("POST", "/contact/renouvellement", "", forged, nil); res.StatusCode != http.StatusNotFound || lastContactYear(stays) != before {
			t.Errorf("a forged answer: status %d, and the last contact moved: %v", res.StatusCode, lastContactYear(stays) != before)
		}
		res, body := w.request("GET", "/contact/renouvellement?"+link(stays, stays).Encode(), "", nil, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Oui, je souhaite rester en contact") || !strings.Contains(body, "Non, ne me contactez plus") {
			t.Fatalf("renewal page: status %d", res.StatusCode)
		}
		if res, _ := w.request("POST", "/contact/renouvellement", "", link(stays, stays), nil); res.StatusCode != http.StatusBadRequest || lastContactYear(stays) != before {
			t.Errorf("an answer without a choice: status %d, want 400 and nothing changed", res.StatusCode)
		}
		answer := link(stays, stays)
		answer.Set("reponse", "rester")
		res, body = w.request("POST", "/contact/renouvellement", "", answer, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "nous restons en contact") {
			t.Fatalf("staying in touch: status %d", res.StatusCode)
		}
		if got := lastContactYear(stays); got != a.Now().UTC().Year() {
			t.Errorf("the last contact is in %d after the click, want this year", got)
		}
		answer = link(leaves, leaves)
		answer.Set("reponse", "arreter")
		res, body = w.request("POST", "/contact/renouvellement", "", answer, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Nous ne vous contacterons plus") {
			t.Fatalf("declining: status %d", res.StatusCode)
		}
		if n := w.count("objections"); n != 1 {
			t.Errorf("%d objections after declining, want 1", n)
		}
		answer.Set("reponse", "rester")
		if res, _ := w.request("POST", "/contact/renouvellement", "", answer, nil); res.StatusCode != http.StatusConflict {
			t.Errorf("staying in touch after an objection: status %d, want 409", res.StatusCode)
		}
	})
}
