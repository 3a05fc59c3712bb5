package rights_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/consent"
	"vigie/internal/dictionary"
	"vigie/internal/keys"
	"vigie/internal/record"
	"vigie/internal/rights"
)

var dpo = rights.Staff{UserID: 0, Department: "dpo"}

func actor(dept, purpose string) record.Actor {
	return record.Actor{Department: dept, Purposes: []string{purpose}}
}

// customer is a person with something in every kind of table: a quote, a contract (ended
// endedAgo years ago, or running when 0) with its certificate, a support ticket, notes,
// consents, a rights request.
type customer struct {
	person, quote, contract, document, ticket, request int64
}

func seed(t testing.TB, a *app.App, email string, contractEnd string) customer {
	t.Helper()
	ctx := context.Background()
	var c customer
	create := func(dept, purpose, table, body string) int64 {
		t.Helper()
		var f map[string]json.RawMessage
		if err := json.Unmarshal([]byte(body), &f); err != nil {
			t.Fatal(err)
		}
		rec, err := a.Records.Create(ctx, actor(dept, purpose), table, record.Input{Fields: f, Channel: "phone"})
		if err != nil {
			t.Fatalf("seed %s: %v", table, err)
		}
		return rec.ID
	}
	c.person = create("devis", "quotes", "persons", fmt.Sprintf(`{"first_name":"Camille","last_name":"Le Goff","email":%q,
		"phone":"0612345678","birth_date":"1985-03-14","address_line":"3 rue des Lilas","postal_code":"29200","city":"Brest","departement":"29"}`, email))
	c.quote = create("devis", "quotes", "quotes", fmt.Sprintf(`{"person_id":%d,"vehicle_make":"Peugeot","vehicle_model":"208","vehicle_year":2020,
		"vehicle_energy":"essence","vehicle_usage":"prive","plate":"GH-456-JK","licence_date":"2004-06-01","bonus_malus":0.68,
		"coverage":"tous_risques","premium_quoted":612.40}`, c.person))
	if contractEnd != "none" {
		end := ""
		if contractEnd != "" {
			end = fmt.Sprintf(`,"end_date":%q,"status":"terminated"`, contractEnd)
		}
		c.contract = create("contrats", "contracts", "contracts", fmt.Sprintf(`{"person_id":%d,"quote_id":%d,"insurer":"MAIF","policy_number":"POL-778899",
			"start_date":"2010-01-01","annual_premium":612.40,"broker_commission":61.24%s}`, c.person, c.quote, end))
		c.document = create("contrats", "contracts", "documents", fmt.Sprintf(`{"person_id":%d,"contract_id":%d,"kind":"certificate","filename":"attestation.txt",
			"content_type":"text/plain","content":"QXR0ZXN0YXRpb24gZCdhc3N1cmFuY2U="}`, c.person, c.contract))
	}
	c.ticket = create("support", "support", "tickets", fmt.Sprintf(`{"person_id":%d,"subject":"Attestation introuvable"}`, c.person))
	create("prospection", "prospection", "interactions", fmt.Sprintf(`{"person_id":%d,"channel":"phone","purpose":"prospection",
		"occurred_at":"2026-01-05T10:00:00Z","note":"Rappeler en mars"}`, c.person))
	if err := a.Consent.Record(ctx, c.person, []consent.Choice{{Purpose: "prospection_email", Granted: true}},
		consent.Proof{Channel: "phone", Method: consent.MethodStaff, RecordedBy: 0, Department: "prospection"}); err != nil {
		t.Fatal(err)
	}
	c.request = create("dpo", "compliance", "rights_requests", fmt.Sprintf(`{"person_id":%d,"type":"erasure","channel":"letter",
		"details":"Merci d'effacer mes données"}`, c.person))
	return c
}

// TestR24_AccessReturnsEverythingHeld: the archive holds every table linked to the person, each
// with purposes, legal bases, recipients and retention, each value with its source, the
// departments that accessed the data, and the documents themselves; as HTML, JSON and CSV.
func TestR24_AccessReturnsEverythingHeld(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		c := seed(t, a, "acces@exemple.fr", "")
		ar, err := a.Rights.Access(ctx, dpo, c.person)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]rights.Category{}
		for _, cat := range ar.Categories {
			got[cat.Table] = cat
		}
		for _, table := range []string{"persons", "quotes", "contracts", "documents", "interactions", "tickets", "consents", "rights_requests"} {
			cat, ok := got[table]
			if !ok {
				t.Errorf("the archive has no %s", table)
				continue
			}
			if len(cat.Purposes) == 0 || cat.Purposes[0].LegalBasis == "" || cat.Purposes[0].Recipients == "" || cat.Retention.Keep == "" || cat.Retention.Source == "" {
				t.Errorf("%s lacks its purposes, legal basis, recipients or retention: %+v", table, cat)
			}
		}
		values := map[string]rights.Value{}
		for _, f := range got["persons"].Rows[0].Fields {
			values[f.Field] = f
		}
		// Every field, including those the DPO's department may not read in daily work.
		for field, want := range map[string]any{"email": "acces@exemple.fr", "birth_date": "1985-03-14", "city": "Brest"} {
			if values[field].Value != want {
				t.Errorf("persons.%s = %v, want %v", field, values[field].Value, want)
			}
			if s := values[field].Source; s == nil || s.Channel != "phone" || s.Purpose != "quotes" {
				t.Errorf("persons.%s has no source: %+v", field, s)
			}
		}
		if len(ar.AccessedBy) == 0 {
			t.Error("the archive does not say which departments accessed the data")
		}
		var zipped bytes.Buffer
		evidence, err := ar.WriteZIP(&zipped)
		if err != nil || !strings.HasPrefix(evidence, "sha256:") {
			t.Fatalf("zip: %v %q", err, evidence)
		}
		zr, err := zip.NewReader(bytes.NewReader(zipped.Bytes()), int64(zipped.Len()))
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, f := range zr.File {
			names[f.Name] = true
		}
		for _, want := range []string{"mes-donnees.html", "mes-donnees.json", "mes-donnees.csv", fmt.Sprintf("documents/documents-%d-attestation.txt", c.document)} {
			if !names[want] {
				t.Errorf("the archive lacks %s (has %v)", want, names)
			}
		}
		var page, csv bytes.Buffer
		if err := ar.WriteHTML(&page); err != nil || !strings.Contains(page.String(), "Brest") || !strings.Contains(page.String(), "Qui a consulté") {
			t.Errorf("the HTML page lacks the data (%v)", err)
		}
		if err := ar.WriteCSV(&csv); err != nil || !strings.Contains(csv.String(), "persons,"+fmt.Sprint(c.person)+",email,") {
			t.Errorf("the CSV lacks the e-mail line (%v)", err)
		}
	})
}

// TestR24_AFieldAddedToTheDictionaryAppearsInTheExport: declaring a column in the dictionary is
// all it takes for the access archive to carry it.
func TestR24_AFieldAddedToTheDictionaryAppearsInTheExport(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		raw := strings.Replace(string(dictionary.Raw()), `{"name": "last_contact_at"`,
			`{"name": "nickname", "type": "varchar(40)", "personal": true, "encrypted": true, "category": "identity", "label": "Surnom", "read": ["devis"], "write": ["devis"]},
        {"name": "last_contact_at"`, 1)
		dict, err := dictionary.Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		blob := "BLOB"
		if a.DB.Dialect != "sqlite" {
			blob = "BYTEA"
		}
		if _, err := a.DB.ExecContext(ctx, "ALTER TABLE persons ADD COLUMN nickname "+blob); err != nil {
			t.Fatal(err)
		}
		store := record.NewStore(a.DB, dict, a.Keys, a.Audit, a.Now)
		p, err := store.Create(ctx, actor("devis", "quotes"), "persons", record.Input{Fields: map[string]json.RawMessage{
			"first_name": json.RawMessage(`"Lou"`), "last_name": json.RawMessage(`"Martin"`), "nickname": json.RawMessage(`"Loulou"`)}})
		if err != nil {
			t.Fatal(err)
		}
		svc := rights.New(a.DB, dict, a.Keys, store, a.Consent, a.Audit, nil, consent.Controller{Name: "Courtier"}, a.Now)
		ar, err := svc.Access(ctx, dpo, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		var js bytes.Buffer
		if err := ar.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(js.String(), `"field":"nickname"`) || !strings.Contains(js.String(), `"value":"Loulou"`) {
			t.Error("the new field is not in the access export")
		}
	})
}

// TestR27_PortabilityReturnsWhatThePersonProvided: the person's own fields, not what the
// broker derived (the computed premium) nor technical columns.
func TestR27_PortabilityReturnsWhatThePersonProvided(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		c := seed(t, a, "porta@exemple.fr", "none")
		p, err := a.Rights.Portability(context.Background(), dpo, c.person)
		if err != nil {
			t.Fatal(err)
		}
		if p.Format != rights.PortabilityFormat || p.Tables["persons"][0]["email"] != "porta@exemple.fr" || p.Tables["quotes"][0]["plate"] != "GH-456-JK" {
			t.Errorf("portability lacks the person's data: %+v", p.Tables)
		}
		for _, forbidden := range []string{"premium_quoted", "id", "kind", "created_at"} {
			if _, ok := p.Tables["quotes"][0][forbidden]; ok {
				t.Errorf("portability carries %s, which the person did not provide", forbidden)
			}
		}
		if len(p.Tables["consents"]) == 0 {
			t.Error("portability lacks the consents the person gave")
		}
	})
}

// TestR26_ErasureLeavesNothingDecryptable: after an erasure no table holds a value that the
// person's old key opens — the key is gone and every row but the legally kept ones is deleted;
// what the law keeps is listed with its reason and end date and re-sealed under a new key; the
// suppression list holds the person's e-mail; the request is closed with the certificate.
func TestR26_ErasureLeavesNothingDecryptable(t *testing.T) {
	cases := []struct {
		name        string
		contractEnd string
		wantKept    []string
	}{
		{"no contract", "none", nil},
		{"contract ended long ago", "2012-12-31", nil},
		{"contract ended last year", "2025-06-30", []string{"contracts", "documents"}},
		{"running contract", "", []string{"contracts", "documents"}},
	}
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				email := fmt.Sprintf("efface%d@exemple.fr", i)
				c := seed(t, a, email, tc.contractEnd)
				other := seed(t, a, fmt.Sprintf("reste%d@exemple.fr", i), "")
				oldKey := subjectKey(t, a, c.person)

				cert, err := a.Rights.Erase(ctx, dpo, c.person, c.request)
				if err != nil {
					t.Fatal(err)
				}
				var keptTables []string
				for _, k := range cert.Kept {
					keptTables = append(keptTables, k.Table)
					if k.Reason == "" || !k.Until.After(a.Now()) {
						t.Errorf("kept %s %d without a reason or an end date: %+v", k.Table, k.ID, k)
					}
				}
				if strings.Join(keptTables, ",") != strings.Join(tc.wantKept, ",") {
					t.Errorf("kept %v, want %v", keptTables, tc.wantKept)
				}
				if opened := decryptable(t, a, oldKey); len(opened) > 0 {
					t.Errorf("the old key still opens %v", opened)
				}
				for _, table := range []string{"quotes", "interactions", "tickets", "consents", "search_index"} {
					if n := count(t, a, "SELECT count(*) FROM "+table+" WHERE person_id = $1", c.person); n != 0 {
						t.Errorf("%s still holds %d rows of the person", table, n)
					}
				}
				if n := count(t, a, "SELECT count(*) FROM subject_keys WHERE person_id = $1", c.person); n != min(len(tc.wantKept), 1) {
					t.Errorf("subject_keys holds %d keys for the person", n)
				}
				if found, _ := a.Records.Search(ctx, actor("devis", "quotes"), "persons", "email", email, 10); len(found) != 0 {
					t.Error("the person is still found by e-mail")
				}
				if sup, err := a.Consent.Suppressed(ctx, email, ""); err != nil || !sup {
					t.Errorf("the e-mail is not on the suppression list (%v)", err)
				}
				var status, evidence string
				if err := a.DB.QueryRowContext(ctx, `SELECT status, evidence FROM rights_requests WHERE id = $1`, c.request).Scan(&status, &evidence); err != nil ||
					status != "closed" || evidence != cert.Evidence {
					t.Errorf("request %s with evidence %q, want closed with the certificate's (%v)", status, evidence, err)
				}
				// Another person's data is untouched.
				if _, err := a.Records.Get(ctx, actor("devis", "quotes"), "quotes", other.quote); err != nil {
					t.Errorf("another person's quote: %v", err)
				}
				if _, err := a.Records.Get(ctx, actor("contrats", "contracts"), "persons", c.person); err == nil {
					t.Error("a department still reads the erased person")
				}
				if len(tc.wantKept) > 0 {
					ar, err := a.Rights.Access(ctx, dpo, c.person)
					if err != nil {
						t.Fatal(err)
					}
					var js bytes.Buffer
					ar.WriteJSON(&js)
					if !strings.Contains(js.String(), "POL-778899") || !strings.Contains(js.String(), "Le Goff") || strings.Contains(js.String(), email) {
						t.Error("the DPO cannot read the kept archive, or the archive keeps more than the law asks")
					}
				}
			})
		}
	})
}

// TestR26_ErasureRefusals: a second erasure, an erasure under legal hold, and an erasure on
// another person's request are refused and change nothing.
func TestR26_ErasureRefusals(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		held := seed(t, a, "gel@exemple.fr", "none")
		if _, err := a.DB.ExecContext(ctx, `UPDATE persons SET legal_hold = TRUE WHERE id = $1`, held.person); err != nil {
			t.Fatal(err)
		}
		other := seed(t, a, "autre@exemple.fr", "none")
		erased := seed(t, a, "deja@exemple.fr", "none")
		if _, err := a.Rights.Erase(ctx, dpo, erased.person, 0); err != nil {
			t.Fatal(err)
		}
		var inputErr *rights.InputError
		cases := []struct {
			name    string
			person  int64
			request int64
			check   func(error) bool
		}{
			{"under legal hold", held.person, held.request, func(err error) bool { return errors.Is(err, rights.ErrLegalHold) }},
			{"twice", erased.person, 0, func(err error) bool { return errors.Is(err, rights.ErrErased) }},
			{"someone else's request", other.person, held.request, func(err error) bool { return errors.As(err, &inputErr) && inputErr.Field == "request_id" }},
			{"unknown person", 987654, 0, func(err error) bool { return errors.Is(err, rights.ErrUnknownPerson) }},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := count(t, a, "SELECT count(*) FROM quotes", 0)
				if _, err := a.Rights.Erase(ctx, dpo, tc.person, tc.request); !tc.check(err) {
					t.Fatalf("got %v", err)
				}
				if after := count(t, a, "SELECT count(*) FROM quotes", 0); after != before {
					t.Errorf("a refused erasure deleted %d quotes", before-after)
				}
			})
		}
		if n := count(t, a, "SELECT count(*) FROM persons WHERE id = $1 AND erased_at IS NULL", held.person); n != 1 {
			t.Error("the person under legal hold was erased")
		}
	})
}

func subjectKey(t *testing.T, a *app.App, personID int64) *keys.SubjectKey {
	t.Helper()
	var wrapped []byte
	if err := a.DB.QueryRowContext(context.Background(), `SELECT wrapped_key FROM subject_keys WHERE person_id = $1`, personID).Scan(&wrapped); err != nil {
		t.Fatal(err)
	}
	sk, err := a.Keys.Unwrap(personID, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// decryptable lists the encrypted values anywhere in the database that the key opens.
func decryptable(t *testing.T, a *app.App, sk *keys.SubjectKey) []string {
	t.Helper()
	var opened []string
	for _, tbl := range a.Dict.Tables {
		for _, c := range tbl.Columns {
			if !c.Encrypted {
				continue
			}
			rows, err := a.DB.QueryContext(context.Background(), "SELECT "+c.Name+" FROM "+tbl.Name+" WHERE "+c.Name+" IS NOT NULL")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var b []byte
				if err := rows.Scan(&b); err != nil {
					t.Fatal(err)
				}
				if _, _, err := sk.Open(tbl.Name+"."+c.Name, b); err == nil {
					opened = append(opened, tbl.Name+"."+c.Name)
				}
			}
			rows.Close()
		}
	}
	return opened
}

func count(t *testing.T, a *app.App, query string, arg int64) int {
	t.Helper()
	var n int
	var err error
	if strings.Contains(query, "$1") {
		err = a.DB.QueryRowContext(context.Background(), query, arg).Scan(&n)
	} else {
		err = a.DB.QueryRowContext(context.Background(), query).Scan(&n)
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}
