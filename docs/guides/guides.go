// Package guides holds Vigie's user guides, in French, one per role, and their screenshots. The
// Markdown files are read as they are in the repository (docs/guides/*.md) and, embedded here,
// served by the staff web interface under /aide. The screenshots (img/*.png) are never made by
// hand: internal/web's TestGuideScreenshots takes them in headless Chromium on a demo database
// (VIGIE_UPDATE_GUIDES=1 go test -run TestGuideScreenshots ./internal/web/), and checks on every
// test run that each image a guide shows exists and that each page it names still has the
// heading it quotes.
package guides

import (
	"embed"
	"io/fs"
)

//go:embed *.md img/*.png
var files embed.FS

// FS is the guides (<role>.md, README.md) and their screenshots (img/<name>.png).
func FS() fs.FS { return files }

// Guide is one role's guide: its file is <Slug>.md, for the staff of Department.
type Guide struct {
	Slug       string
	Department string
}

// All are the guides in the order the help page lists them (the reader's own first).
var All = []Guide{
	{Slug: "dpo", Department: "dpo"},
	{Slug: "prospection", Department: "prospection"},
	{Slug: "devis", Department: "devis"},
	{Slug: "contrats", Department: "contrats"},
	{Slug: "support", Department: "support"},
	{Slug: "performance", Department: "performance"},
	{Slug: "informatique", Department: "admin"},
}

// Find returns the guide of a slug.
func Find(slug string) (Guide, bool) {
	for _, g := range All {
		if g.Slug == slug {
			return g, true
		}
	}
	return Guide{}, false
}
