package breach_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/breach"
)

// TestR40_HighRiskBreachDraftsTheCNILNotificationAndALetterPerPerson: from a high-risk breach
// naming a scope, the CNIL draft follows the sections of the CNIL's form with the record's
// content; a letter is drafted for each person found, addressed to them, in plain French, each
// reading of their name and address recorded in the audit trail; the model letter names no one;
// recording the letters as sent marks the people informed.
func TestR40_HighRiskBreachDraftsTheCNILNotificationAndALetterPerPerson(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		at := now
		reg := register(a, &at)
		var ids []int64
		for _, last := range []string{lastName, "Le Gall-Testeur", "Morvan-Testeur"} {
			ids = append(ids, person(t, a, last, now.AddDate(0, -1, 0)))
		}
		d := valid()
		d.Scope, d.PeopleCount, d.RecordsCount = breach.Scope{Table: "contracts"}, nil, nil
		d.Advice = "Méfiez-vous des appels ou courriels vous demandant vos coordonnées bancaires."
		id, err := reg.Record(ctx, dpo, d)
		if err != nil {
			t.Fatal(err)
		}

		cnil, err := reg.CNILDraft(ctx, dpo, id)
		if err != nil {
			t.Fatalf("CNIL draft: %v", err)
		}
		for _, want := range []string{"Notification initiale", "1. Type de notification", "2. Responsable du traitement et point de contact",
			"3. Chronologie", "Prise de connaissance par le responsable du traitement : 03/11/2026 à 01:00", "Échéance de la notification",
			"06/11/2026 à 01:00", "4. Nature de la violation", "Perte de confidentialité", "Équipement perdu ou volé", "Acte externe malveillant",
			description, "5. Personnes et données concernées", "Nombre approximatif de personnes concernées : 3", "Clients",
			"Nombre approximatif d'enregistrements concernés : 3", "6. Conséquences probables", d.Consequences, "Risque élevé",
			"7. Mesures prises et envisagées", d.MeasuresTaken, "8. Information des personnes concernées", "seront informées sans délai",
			breach.CNILNotificationURL} {
			if !strings.Contains(cnil.Text, want) {
				t.Errorf("the CNIL draft lacks %q", want)
			}
		}
		if strings.Contains(cnil.Text, lastName) {
			t.Error("the CNIL draft names a person")
		}
		if n := count(t, a, `SELECT count(*) FROM audit_events WHERE table_name = 'breaches' AND action = 'export' AND detail = 'draft=cnil'`); n != 1 {
			t.Errorf("%d audit events for the CNIL draft, want 1", n)
		}

		b, err := reg.Get(ctx, dpo, id)
		if err != nil {
			t.Fatal(err)
		}
		model := reg.LetterModel(b)
		for _, want := range []string{"Madame, Monsieur,", "Objet : violation de données personnelles vous concernant", "Ce qui s'est passé",
			"Les conséquences possibles pour vous", "Ce que nous avons fait", "Ce que vous pouvez faire", d.Advice,
			"délégué à la protection des données", "réclamation à la CNIL"} {
			if !strings.Contains(model.Text, want) {
				t.Errorf("the model letter lacks %q", want)
			}
		}
		if strings.Contains(model.Text, lastName) {
			t.Error("the model letter names a person")
		}

		// Two pages of letters: every person once, each letter addressed to them.
		seen := map[int64]bool{}
		var after int64
		for page := 0; page < 3; page++ {
			letters, next, err := reg.Letters(ctx, dpo, id, after, 2)
			if err != nil {
				t.Fatalf("letters: %v", err)
			}
			for _, l := range letters {
				if seen[l.PersonID] {
					t.Error("a person gets two letters")
				}
				seen[l.PersonID] = true
				if len(l.Address) != 3 || !strings.Contains(l.Text, "Bonjour Camille") || !strings.Contains(l.Text, "29200 Brest") {
					t.Errorf("the letter to person %d is not addressed to them", l.PersonID)
				}
				if l.PersonID == ids[0] && !strings.Contains(l.Text, lastName) {
					t.Errorf("the letter to person %d does not name them", l.PersonID)
				}
			}
			if after = next; next == 0 {
				break
			}
		}
		if len(seen) != len(ids) {
			t.Errorf("%d letters drafted, want %d", len(seen), len(ids))
		}
		if err := a.Audit.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(t, a, `SELECT count(*) FROM audit_events WHERE chain = 'access' AND action = 'read' AND table_name = 'persons'
			AND purpose = 'compliance' AND detail LIKE 'breach=%letter' AND fields LIKE '%last_name%'`); n != int64(len(ids)) {
			t.Errorf("%d readings recorded for the letters, want %d", n, len(ids))
		}
		if _, _, err := reg.Letters(ctx, breach.Staff{Department: "contrats"}, id, 0, 10); !errors.Is(err, breach.ErrForbidden) {
			t.Errorf("the contracts department drafts the letters: %v, want forbidden", err)
		}

		// The letters sent are recorded: everyone is marked informed, the clock says so.
		if _, err := reg.Notify(ctx, dpo, id, breach.NotificationInput{Recipient: "people", Phase: "initial", SentAt: now, Channel: "letter"}); err != nil {
			t.Fatalf("record the letters sent: %v", err)
		}
		b, _ = reg.Get(ctx, dpo, id)
		if b.PeopleNotified != int64(len(ids)) || b.Clock(now).People != breach.PeopleNotified || *b.Notifications[0].PeopleNotified != int64(len(ids)) {
			t.Errorf("%d people marked informed, want %d", b.PeopleNotified, len(ids))
		}
		if at = now.Add(time.Hour); !strings.Contains(mustDraft(t, reg, id).Text, "Personnes informées le") {
			t.Error("the CNIL draft does not say the people were informed")
		}
	})
}

func mustDraft(t *testing.T, reg *breach.Service, id int64) *breach.Draft {
	t.Helper()
	d, err := reg.CNILDraft(context.Background(), dpo, id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestR40_NoHighRiskMeansNoLetterOwed: a breach with a risk for the CNIL only, or a high risk under
// an exception of art. 34(3), owes the people no letter, and the CNIL draft says why.
func TestR40_NoHighRiskMeansNoLetterOwed(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		at := now
		reg := register(a, &at)
		cases := []struct {
			name, risk, exemption, people, says string
		}{
			{"a risk", breach.RiskRisk, "", breach.PeopleNotRequired, "n'est pas susceptible d'engendrer un risque élevé"},
			{"a high risk on encrypted data", breach.RiskHigh, "encrypted", breach.PeopleExempted, "art. 34(3)(a)"},
			{"a high risk", breach.RiskHigh, "", breach.PeoplePending, "seront informées sans délai"},
		}
		for _, c := range cases {
			d := valid()
			d.Risk, d.PeopleExemption = c.risk, c.exemption
			id, err := reg.Record(ctx, dpo, d)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			b, _ := reg.Get(ctx, dpo, id)
			if got := b.Clock(now).People; got != c.people {
				t.Errorf("%s: people %s, want %s", c.name, got, c.people)
			}
			if !strings.Contains(mustDraft(t, reg, id).Text, c.says) {
				t.Errorf("%s: the CNIL draft does not say %q", c.name, c.says)
			}
		}
	})
}
