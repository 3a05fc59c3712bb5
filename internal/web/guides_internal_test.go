package web

import (
	"strings"
	"testing"
)

// TestGuideMarkdownIsEscaped: the guides' converter escapes every character of text, keeps links
// only to guides, anchors and https addresses, images only from the guides' folder, and renders
// the subset the guides use.
func TestGuideMarkdownIsEscaped(t *testing.T) {
	src := "# Titre <i>\n\nChapeau & **gras**.\n\n## Tâche à faire\n\n" +
		"Texte <script>alert(1)</script> `<code>` et [lien](javascript:alert) [guide](devis.md#etablir-un-devis)\n" +
		"[déploiement](../deploiement.md) [site](https://exemple.fr/a?b=1&c=2) [ancre](#tache-a-faire) [mauvaise](#x\"y)\n\n" +
		"1. un\n2. deux\n   suite\n\n3. trois\n\n- puce `x`\n\n" +
		"![x\" onerror=\"y](img/a-b.png)\n\n![ailleurs](https://exemple.fr/a.png)\n\n[donnée](data:text/html,x)\n\n```sh\n<pre> & \"\n```\n"
	d := renderGuide(src)
	if d.Title != "Titre <i>" || string(d.Lead) != "Chapeau &amp; <strong>gras</strong>." {
		t.Errorf("title %q, lead %q", d.Title, d.Lead)
	}
	if len(d.Sections) != 1 || d.Sections[0].ID != "tache-a-faire" {
		t.Errorf("sections %+v", d.Sections)
	}
	body := string(d.Body)
	for _, want := range []string{
		`<h2 id="tache-a-faire">Tâche à faire</h2>`,
		"Texte &lt;script&gt;alert(1)&lt;/script&gt; <code>&lt;code&gt;</code> et lien ",
		`<a href="/aide/devis#etablir-un-devis">guide</a>`,
		"déploiement (fichier <code>docs/deploiement.md</code> du dépôt)",
		`<a href="https://exemple.fr/a?b=1&amp;c=2">site</a>`,
		`<a href="#tache-a-faire">ancre</a>`, "mauvaise",
		"<ol>\n<li>un</li>\n<li>deux suite</li>\n<li>trois</li>\n</ol>",
		"<ul>\n<li>puce <code>x</code></li>\n</ul>",
		`<figure class="shot"><img src="/aide/img/a-b.png" alt="x&#34; onerror=&#34;y" loading="lazy"></figure>`,
		`<figure class="shot">ailleurs</figure>`, "<p>donnée</p>",
		"<pre><code>&lt;pre&gt; &amp; &#34;</code></pre>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the body lacks %q:\n%s", want, body)
		}
	}
	for _, never := range []string{"<script", "javascript", "href=\"data", `href="#x`, "<i>", `onerror="`} {
		if strings.Contains(body, never) {
			t.Errorf("the body contains %q", never)
		}
	}
}

// TestEveryGuideRenders: each embedded guide has a title, a lead, its tasks and only images of
// its own folder.
func TestEveryGuideRenders(t *testing.T) {
	docs, err := renderGuides()
	if err != nil {
		t.Fatal(err)
	}
	for slug, d := range docs {
		if d.Title == "" || d.Lead == "" || len(d.Sections) < 3 {
			t.Errorf("guide %s: title %q, lead %d bytes, %d tasks", slug, d.Title, len(d.Lead), len(d.Sections))
		}
		if n := strings.Count(string(d.Body), "<img "); n < 3 || n != strings.Count(string(d.Body), `<img src="/aide/img/`+slug+"-") {
			t.Errorf("guide %s: %d images, or one from elsewhere", slug, n)
		}
	}
}
