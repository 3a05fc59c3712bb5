package rights

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"vigie/internal/audit"
	"vigie/internal/consent"
	"vigie/internal/dictionary"
	"vigie/internal/keys"
)

// AccessFormat names the layout of the access archive's JSON; docs/rights-exports.md describes it.
const AccessFormat = "vigie-acces/1"

// Archive is everything Vigie holds on one person (art. 15): every table of the dictionary that
// is linked to a person and holds personal data, each with its purposes, legal bases, recipients
// and retention, each value with its source (when, through which channel, for which purpose it
// was collected), and which departments accessed the data and when.
type Archive struct {
	Format      string             `json:"format"`
	GeneratedAt time.Time          `json:"generated_at"`
	Controller  consent.Controller `json:"controller"`
	PersonID    int64              `json:"person_id"`
	Categories  []Category         `json:"categories"`
	AccessedBy  []audit.Access     `json:"accessed_by"`
	// Files are the documents' contents, in the ZIP archive only.
	Files []File `json:"-"`
}

// Category is one table's rows on the person.
type Category struct {
	Table       string        `json:"table"`
	Label       string        `json:"label"`
	Description string        `json:"description"`
	Purposes    []PurposeInfo `json:"purposes"`
	Retention   RetentionInfo `json:"retention"`
	Rows        []Row         `json:"rows"`
}

// PurposeInfo is a purpose as the person is told it.
type PurposeInfo struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	LegalBasis string `json:"legal_basis"`
	Recipients string `json:"recipients"`
}

// RetentionInfo is how long a category is kept and what happens then.
type RetentionInfo struct {
	Keep   string `json:"keep"`
	From   string `json:"from"`
	Then   string `json:"then"`
	Source string `json:"source"`
}

// Row is one record.
type Row struct {
	ID     int64   `json:"id"`
	Fields []Value `json:"fields"`
}

// Value is one field of a record, with where it came from when Vigie knows it.
type Value struct {
	Field    string           `json:"field"`
	Label    string           `json:"label"`
	Category string           `json:"category"`
	Value    any              `json:"value"`
	Source   *keys.Provenance `json:"source,omitempty"`
}

// File is a document's content, stored in the archive under Path.
type File struct {
	Path    string
	Content []byte
}

// subjectTables are the tables an access answer covers: linked to a person and holding personal data.
func (s *Service) subjectTables() []*dictionary.Table {
	var out []*dictionary.Table
	for _, t := range s.dict.Tables {
		if t.PersonColumn == "" {
			continue
		}
		for _, c := range t.Columns {
			if c.Personal {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

// Access gathers the archive. The DPO (or the person through the portal) reads every field; the
// read is audited table by table. A restricted person may still obtain their data: access is
// not processing against them, it is their right.
func (s *Service) Access(ctx context.Context, st Staff, personID int64) (*Archive, error) {
	state, err := s.state(ctx, s.db, personID)
	if err != nil {
		return nil, err
	}
	if state.erasedAt.Valid && st.Portal {
		return nil, ErrErased
	}
	ar := &Archive{Format: AccessFormat, GeneratedAt: s.now().UTC().Truncate(time.Second), Controller: s.controller, PersonID: personID}
	for _, t := range s.subjectTables() {
		recs, err := s.records.PersonRows(ctx, st.actor(), t.Name, personID, true)
		if err != nil {
			return nil, fmt.Errorf("rights: access %s: %w", t.Name, err)
		}
		if len(recs) == 0 {
			continue
		}
		cat := Category{Table: t.Name, Label: t.Label, Description: t.Description, Purposes: s.purposes(t.Purposes)}
		if r, ok := s.dict.RetentionRule(t.Retention); ok {
			cat.Retention = RetentionInfo{Keep: r.Keep, From: r.From, Then: r.Then, Source: r.Source}
		}
		for _, rec := range recs {
			row := Row{ID: rec.ID}
			for _, c := range t.Columns {
				v, ok := rec.Values[c.Name]
				if !ok || v == nil || c.Name == t.PersonColumn && c.Name != "id" {
					continue
				}
				val := Value{Field: c.Name, Label: c.Label, Category: c.Category}
				if c.Kind == dictionary.KindBlob {
					name := t.Name + "-" + strconv.FormatInt(rec.ID, 10)
					if fn, ok := rec.Values["filename"].(string); ok {
						name += "-" + path.Base(strings.ReplaceAll(fn, "\\", "/"))
					}
					f := File{Path: "documents/" + name, Content: v.([]byte)}
					ar.Files = append(ar.Files, f)
					val.Value = f.Path
				} else {
					val.Value = c.JSON(v)
				}
				if p, ok := rec.Provenance[c.Name]; ok {
					val.Source = &p
				}
				row.Fields = append(row.Fields, val)
			}
			cat.Rows = append(cat.Rows, row)
		}
		ar.Categories = append(ar.Categories, cat)
	}
	if ar.AccessedBy, err = s.audit.WhoAccessed(ctx, personID); err != nil {
		return nil, err
	}
	return ar, nil
}

func (s *Service) purposes(codes []string) []PurposeInfo {
	var out []PurposeInfo
	for _, code := range codes {
		for _, p := range s.dict.Purposes {
			if p.Code == code {
				out = append(out, PurposeInfo{Code: p.Code, Name: p.Name, LegalBasis: p.LegalBasis, Recipients: p.Recipients})
			}
		}
	}
	return out
}

// WriteJSON writes the archive as compact JSON, for programs (the API, a script).
func (ar *Archive) WriteJSON(w io.Writer) error {
	return json.NewEncoder(w).Encode(ar)
}

// writeIndentedJSON writes the archive as indented JSON, for the file a person may open.
func (ar *Archive) writeIndentedJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ar)
}

// csvHeader is the access archive's CSV layout: one line per value, so that any table the
// dictionary adds fits without a new column.
var csvHeader = []string{"categorie", "table", "ligne", "champ", "libelle", "valeur", "collecte_le", "canal", "finalite"}

// WriteCSV writes every value as one line (RFC 4180, UTF-8).
func (ar *Archive) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, cat := range ar.Categories {
		for _, row := range cat.Rows {
			for _, v := range row.Fields {
				line := []string{cat.Label, cat.Table, strconv.FormatInt(row.ID, 10), v.Field, v.Label, fmt.Sprint(v.Value), "", "", ""}
				if v.Source != nil {
					line[6], line[7], line[8] = v.Source.CollectedAt.UTC().Format(time.RFC3339), v.Source.Channel, v.Source.Purpose
				}
				if err := cw.Write(line); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

//go:embed access.html.tmpl
var accessTemplateText string

var accessTemplate = template.Must(template.New("access").Funcs(template.FuncMap{
	"date": func(t time.Time) string { return t.UTC().Format("02/01/2006") },
	"when": func(t time.Time) string { return t.UTC().Format("02/01/2006 15:04") },
	"value": func(v any) string {
		if b, ok := v.(bool); ok {
			if b {
				return "oui"
			}
			return "non"
		}
		return fmt.Sprint(v)
	},
}).Parse(accessTemplateText))

// WriteHTML writes the archive as a page a person can read, in French.
func (ar *Archive) WriteHTML(w io.Writer) error {
	return accessTemplate.Execute(w, ar)
}

// WriteZIP writes the whole answer as one archive: the page, the JSON, the CSV and the documents.
// It returns the SHA-256 of what it wrote, kept as the evidence of the answer.
func (ar *Archive) WriteZIP(w io.Writer) (string, error) {
	h := sha256.New()
	zw := zip.NewWriter(io.MultiWriter(w, h))
	parts := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"mes-donnees.html", ar.WriteHTML},
		{"mes-donnees.json", ar.writeIndentedJSON},
		{"mes-donnees.csv", ar.WriteCSV},
	}
	for _, p := range parts {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Deflate, Modified: ar.GeneratedAt})
		if err != nil {
			return "", err
		}
		if err := p.write(f); err != nil {
			return "", fmt.Errorf("rights: archive %s: %w", p.name, err)
		}
	}
	for _, file := range ar.Files {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: file.Path, Method: zip.Deflate, Modified: ar.GeneratedAt})
		if err != nil {
			return "", err
		}
		if _, err := io.Copy(f, bytes.NewReader(file.Content)); err != nil {
			return "", err
		}
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
