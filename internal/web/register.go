package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"vigie/internal/register"
)

// The DPO's page « Registre des traitements » (R38, art. 30): the register in force — generated
// from the dictionary and the retention rules in force, recorded as a new version when its
// content changed —, its activities, each activity's sheet in the CNIL's layout, and every kept
// version with its downloads as CSV, HTML, PDF and JSON. The register names no person; every
// download is recorded in the audit trail by the register's service.

const registerForbidden = "Le registre des traitements est tenu par le DPO."

// registerFormats are the downloads, in the order the page offers them.
var registerFormats = []struct{ Code, Label string }{
	{"pdf", "PDF"}, {"csv", "CSV (tableur)"}, {"html", "HTML (imprimable)"}, {"json", "JSON"},
}

func (s *server) parseRegisterTemplates() error {
	t, err := template.New("register").Funcs(template.FuncMap{
		"join": func(list []string) string { return strings.Join(list, " ; ") },
	}).ParseFS(assets, "templates/layout.html", "templates/register.html")
	if err != nil {
		return fmt.Errorf("web: parse template register: %w", err)
	}
	s.pages["register"] = t
	return nil
}

// registerRoutes adds the register's pages to the route table.
func (s *server) registerRoutes(mux *http.ServeMux) {
	mux.Handle("GET /registre", s.staff(s.registerPage))
	mux.Handle("GET /registre/versions/{version}/{format}", s.staff(s.registerDownload))
}

func (st *session) registerStaff() register.Staff {
	return register.Staff{UserID: st.User.ID, Department: st.User.Department}
}

type registerView struct {
	Current   *register.Version
	CurrentBy string
	Sheets    []register.Sheet
	Versions  []versionLine
	Formats   []struct{ Code, Label string }
}

type versionLine struct {
	register.Version
	At, By, Short string
}

// versionBy says who generated a version: a staff member of a department, or a command.
func (s *server) versionBy(v register.Version) string {
	dept := v.Department
	if d, ok := s.dict.Department(v.Department); ok {
		dept = d.Name
	}
	if v.GeneratedBy == 0 {
		return "ligne de commande (" + dept + ")"
	}
	return "utilisateur n° " + strconv.FormatInt(v.GeneratedBy, 10) + " (" + dept + ")"
}

func (s *server) registerPage(w http.ResponseWriter, r *http.Request, st *session) {
	if !s.app.Register.CanRead(st.User.Department) {
		s.forbidden(w, r, st, registerForbidden)
		return
	}
	ctx := r.Context()
	cur, err := s.app.Register.Current(ctx, st.registerStaff())
	if err != nil {
		s.failRegister(w, r, st, err)
		return
	}
	list, err := s.app.Register.Versions(ctx, st.registerStaff())
	if err != nil {
		s.failRegister(w, r, st, err)
		return
	}
	v := registerView{Current: cur, CurrentBy: s.versionBy(*cur), Sheets: cur.Sheets(), Formats: registerFormats}
	for _, l := range list {
		v.Versions = append(v.Versions, versionLine{Version: l, At: l.When(), By: s.versionBy(l), Short: l.SHA256[:16]})
	}
	s.render(w, r, st, http.StatusOK, "register", "Registre des traitements", v)
}

// registerDownload sends a kept version in a format, as an attachment: the HTML export is a
// standalone page with its own style, to open or print outside Vigie.
func (s *server) registerDownload(w http.ResponseWriter, r *http.Request, st *session) {
	if !s.app.Register.CanRead(st.User.Department) {
		s.forbidden(w, r, st, registerForbidden)
		return
	}
	n, err := strconv.Atoi(r.PathValue("version"))
	format := r.PathValue("format")
	if err != nil || n < 1 || !slices.Contains(register.Formats, format) {
		s.notFound(w, r, st)
		return
	}
	v, b, err := s.app.Register.Export(r.Context(), st.registerStaff(), n, format)
	if err != nil {
		s.failRegister(w, r, st, err)
		return
	}
	w.Header().Set("Content-Type", register.ContentTypes[format])
	w.Header().Set("Content-Disposition", `attachment; filename="`+register.FileName(v, format)+`"`)
	w.Header().Set("X-Vigie-Register-SHA256", v.SHA256)
	w.Write(b)
}

// failRegister maps the register's errors to pages: a register its sources leave incomplete is
// shown with every missing field, by activity and point of art. 30(1).
func (s *server) failRegister(w http.ResponseWriter, r *http.Request, st *session, err error) {
	var issue *register.Issue
	switch {
	case errors.Is(err, register.ErrForbidden):
		s.forbidden(w, r, st, registerForbidden)
	case errors.Is(err, register.ErrNotFound):
		s.notFound(w, r, st)
	case errors.As(err, &issue):
		v := errorView{Heading: "Registre incomplet", Message: "Le registre ne peut pas être produit : il manque des champs de l'article 30(1). Rien n'a été inscrit."}
		for _, is := range register.Issues(err) {
			where := "registre"
			if is.Activity != "" {
				where = "activité " + is.Activity
			}
			v.Details = append(v.Details, where+", "+is.Field+" : "+is.Message+" ("+is.Rule+")")
		}
		s.render(w, r, st, http.StatusConflict, "error", "Registre incomplet", v)
	default:
		s.fail(w, r, st, err)
	}
}
