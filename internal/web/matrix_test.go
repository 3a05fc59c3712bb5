package web_test

import (
	"slices"
	"testing"

	"vigie/internal/app/apptest"
	"vigie/internal/web"
)

// TestR08_WebAuthorizationMatrix derives, from the dictionary alone, what every department may
// open on every staff page — lists, creation forms, records and their edit forms, the users page,
// the audit journal, the campaigns — and checks the status each gets. A page added without an
// expectation, or a right changed in the dictionary, shows here.
func TestR08_WebAuthorizationMatrix(t *testing.T) {
	a := apptest.New(t, "sqlite")
	w := newWorld(t, a)
	seeds := map[string][]string{"persons": {"person"}, "quotes": {"quote"}, "contracts": {"contract"}, "tickets": {"ticket"},
		"interactions": {"note_prospection", "note_support"}}
	// The seeded interactions' purposes: a department sees only those of its own purposes.
	purposeOf := map[string]string{"note_prospection": "prospection", "note_support": "support"}
	status := func(ok bool, yes int) int {
		if ok {
			return yes
		}
		return 403
	}
	paths := web.ResourcePaths()
	for _, d := range a.Dict.Departments {
		type check struct {
			path string
			want int
		}
		var checks []check
		for table, path := range paths {
			tb := a.Dict.Table(table)
			checks = append(checks,
				check{"/" + path, status(tb.CanRead(d.Code), 200)},
				check{"/" + path + "/nouveau", status(tb.CanWrite(d.Code), 200)})
			for _, seed := range seeds[table] {
				visible := !tb.HasRowRule("purpose") || slices.Contains(d.Purposes, purposeOf[seed])
				checks = append(checks, check{"/" + path + "/{" + seed + "}", status(tb.CanRead(d.Code) && visible, 200)})
				if table != "documents" {
					checks = append(checks, check{"/" + path + "/{" + seed + "}/modifier", status(tb.CanWrite(d.Code) && visible, 200)})
				}
			}
		}
		checks = append(checks,
			check{"/utilisateurs", status(a.Dict.Table("users").CanRead(d.Code), 200)},
			check{"/audit", status(d.Code == "dpo", 200)},
			check{"/cycle-de-vie", status(d.Code == "dpo", 200)},
			check{"/campagnes", status(slices.Contains(d.Purposes, "prospection"), 200)},
			check{"/dictionnaire", 200},
			check{"/", 200})
		for _, c := range checks {
			res, body := w.request("GET", w.path(c.path), d.Code, nil, nil)
			if res.StatusCode != c.want {
				t.Errorf("%s GET %s: %d, want %d (%s)", d.Code, c.path, res.StatusCode, c.want, heading(body))
			}
		}
	}
}
