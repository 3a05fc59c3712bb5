package web

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"vigie/internal/dictionary"
	"vigie/internal/record"
)

// formField is one input of a form generated from a dictionary column.
type formField struct {
	ID, Name, Label, Help string
	Widget                string // input, select, checkbox, textarea
	Type                  string // the input's type
	Value, Error          string
	Checked, Required     bool
	Options               []option
	MaxLength, MinLength  int
	Min, Max, Step        string
	Accept, Autocomplete  string
	DescribedBy           string
}

// describe links the help text and the error message to the input for screen readers.
func (f *formField) describe() {
	var ids []string
	if f.Help != "" {
		ids = append(ids, f.ID+"-aide")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-erreur")
	}
	f.DescribedBy = strings.Join(ids, " ")
}

type summaryError struct {
	Label, Message, Anchor string
}

type formView struct {
	Heading   string
	Action    string
	Multipart bool
	Fields    []*formField
	Channel   *formField
	// Confirm is, on a new quote, the person's confirmation of the data it reuses (R22, R23).
	Confirm           *formField
	Errors            []summaryError
	Submit, Cancel    string
	HasRequiredFields bool
}

// derived columns are computed by the web layer rather than typed in: a document's format comes
// from the uploaded file.
var derived = map[string]bool{"documents.content_type": true}

// optional columns may be left empty in a form although the store requires them, because the
// web layer fills them in: a document's name defaults to the uploaded file's.
var optional = map[string]string{"documents.filename": "Laissez vide pour reprendre le nom du fichier envoyé."}

// prefill are values offered by default on a new form, beyond the dictionary's defaults.
var prefill = map[string]string{
	"quotes.channel":         "phone",
	"interactions.channel":   "phone",
	"ticket_messages.author": "staff",
}

// maxUpload is the largest document accepted, as the dictionary's blob(10485760) says.
const maxUpload = 10 << 20

// formColumns are the columns a department fills in: those the dictionary lets it write, except
// what Vigie computes (system fields, a child row's parent) and, on an edit, what cannot change
// after creation.
func (s *server) formColumns(t *dictionary.Table, dept string, edit bool) []*dictionary.Column {
	var cols []*dictionary.Column
	for _, c := range t.Columns {
		if !c.CanWrite(dept) || c.System || c.Name == t.Parent || derived[c.Ref] {
			continue
		}
		if edit && (c.Immutable || c.Kind == dictionary.KindBlob) {
			continue
		}
		cols = append(cols, c)
	}
	return cols
}

// field generates the input of a column: its type, size, allowed values and help all come from
// the dictionary.
func (s *server) field(t *dictionary.Table, c *dictionary.Column, values, errs map[string]string) *formField {
	f := &formField{ID: "f-" + c.Name, Name: c.Name, Label: c.Label, Help: c.Description,
		Widget: "input", Type: "text", Value: values[c.Name], Error: errs[c.Name]}
	f.Required = !c.Nullable() && len(c.Default) == 0
	if ref, _, ok := c.ForeignKey(); ok && f.Help == "" {
		if rt := s.dict.Table(ref); rt != nil {
			f.Help = "Numéro de la fiche « " + rt.Label + " »."
		}
	}
	bound := func(b *float64) string {
		if b == nil {
			return ""
		}
		return strconv.FormatFloat(*b, 'f', -1, 64)
	}
	switch {
	case c.Kind == dictionary.KindBlob:
		f.Type = "file"
		if ct := t.Column("content_type"); ct != nil {
			f.Accept = strings.Join(ct.Values, ",")
		}
	case len(c.Values) > 0:
		f.Widget = "select"
		if c.Nullable() || len(c.Default) == 0 {
			f.Options = append(f.Options, option{Value: "", Label: "— choisir —", Selected: f.Value == ""})
		}
		for _, v := range c.Values {
			f.Options = append(f.Options, option{Value: v, Label: s.enumLabel(c, v), Selected: v == f.Value})
		}
	case c.Kind == dictionary.KindBoolean:
		f.Widget, f.Checked, f.Required = "checkbox", f.Value == "true", false
	case c.Kind == dictionary.KindDate:
		f.Type = "date"
	case c.Kind == dictionary.KindTimestamp:
		f.Type = "datetime-local"
	case c.Kind == dictionary.KindBigint || c.Kind == dictionary.KindInteger:
		f.Type, f.Step, f.Min, f.Max = "number", "1", bound(c.Min), bound(c.Max)
	case c.Kind == dictionary.KindNumeric:
		f.Type, f.Step, f.Min, f.Max = "number", "1", bound(c.Min), bound(c.Max)
		if c.Scale > 0 {
			f.Step = "0." + strings.Repeat("0", c.Scale-1) + "1"
		}
	case c.Size > 255:
		f.Widget, f.MaxLength = "textarea", c.Size
	default:
		f.MaxLength = c.Size
		switch c.Format {
		case "email":
			f.Type = "email"
		case "phone_fr":
			f.Type = "tel"
		}
	}
	if help, ok := optional[c.Ref]; ok {
		f.Required = false
		f.Help = strings.TrimSpace(f.Help + " " + help)
	}
	f.describe()
	return f
}

// fields builds the inputs of a form for the signed-in department.
func (s *server) fields(t *dictionary.Table, cols []*dictionary.Column, values, errs map[string]string, st *session, edit bool) []*formField {
	var out []*formField
	for _, c := range cols {
		f := s.field(t, c, values, errs)
		if t.HasRowRule("purpose") && c.Name == "purpose" {
			// A department records interactions for its own purposes only (row rule).
			f.Options = slices.DeleteFunc(f.Options, func(o option) bool {
				return o.Value != "" && !slices.Contains(st.Actor.Purposes, o.Value)
			})
		}
		if edit && !c.CanRead(st.User.Department) {
			f.Help = strings.TrimSpace(f.Help + " Valeur actuelle non affichée à votre service ; laissez vide pour la conserver.")
			f.Required = false
			f.describe()
		}
		out = append(out, f)
	}
	return out
}

// channelField is the "Canal de collecte": how the values were obtained from the person, stored
// with each value as its provenance.
func (s *server) channelField(value string, errs map[string]string) *formField {
	if value == "" {
		value = "phone"
	}
	f := &formField{ID: "f-canal", Name: "_canal", Label: "Canal de collecte", Widget: "select", Required: true,
		Error: errs["_channel"], Help: "Comment ces informations ont été recueillies ; conservé avec chaque valeur (provenance)."}
	for _, ch := range record.Channels {
		f.Options = append(f.Options, option{Value: ch, Label: s.channelLabel(ch), Selected: ch == value})
	}
	f.describe()
	return f
}

// summary lists every error at the top of the form, each naming its field.
func (s *server) summary(t *dictionary.Table, fields []*formField, errs map[string]string) []summaryError {
	var out []summaryError
	shown := map[string]bool{}
	for _, f := range fields {
		if f.Error != "" {
			out = append(out, summaryError{Label: f.Label, Message: f.Error, Anchor: "#" + f.ID})
			shown[f.Name] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(errs)) {
		if shown[name] {
			continue
		}
		anchor := ""
		if name == "_channel" {
			anchor = "#f-canal"
		}
		out = append(out, summaryError{Label: s.fieldLabel(t, name), Message: errs[name], Anchor: anchor})
	}
	return out
}

// fieldErrors indexes the store's refusals by field.
func fieldErrors(e *record.ValidationError) map[string]string {
	errs := map[string]string{}
	for _, fe := range e.Fields {
		if prev, ok := errs[fe.Field]; ok {
			errs[fe.Field] = prev + " ; " + fe.Message
		} else {
			errs[fe.Field] = fe.Message
		}
	}
	return errs
}

// readForm collects the posted value of each column; an unchecked box is "false".
func readForm(r *http.Request, cols []*dictionary.Column) map[string]string {
	values := map[string]string{}
	for _, c := range cols {
		switch c.Kind {
		case dictionary.KindBlob:
		case dictionary.KindBoolean:
			values[c.Name] = strconv.FormatBool(slices.Contains(r.PostForm[c.Name], "true"))
		default:
			values[c.Name] = r.PostFormValue(c.Name)
		}
	}
	return values
}

// textInput is what is sent to the store. On creation, an empty input is left out so that the
// dictionary's default applies. On an edit, only what changed is sent: an unchanged field keeps
// its value and the provenance it was collected with.
func (s *server) textInput(cols []*dictionary.Column, values, original map[string]string) map[string]string {
	in := map[string]string{}
	for _, c := range cols {
		v, ok := values[c.Name]
		if !ok || c.Kind == dictionary.KindBlob {
			continue
		}
		if original == nil && strings.TrimSpace(v) == "" {
			continue
		}
		if original != nil && strings.TrimSpace(v) == strings.TrimSpace(original[c.Name]) {
			continue
		}
		if c.Kind == dictionary.KindTimestamp && strings.TrimSpace(v) != "" {
			v = s.storeTime(strings.TrimSpace(v))
		}
		in[c.Name] = v
	}
	return in
}

// defaults are the values a new form starts with.
func (s *server) defaults(t *dictionary.Table, cols []*dictionary.Column, st *session) map[string]string {
	values := map[string]string{}
	for _, c := range cols {
		if d := c.DefaultValue(); d != nil {
			values[c.Name] = s.formValue(c, d)
		}
		if v, ok := prefill[c.Ref]; ok {
			values[c.Name] = v
		}
		if c.Format == "past_time" && !c.Nullable() {
			values[c.Name] = s.formValue(c, s.app.Now())
		}
		if t.HasRowRule("purpose") && c.Name == "purpose" && len(st.Actor.Purposes) > 0 {
			values[c.Name] = st.Actor.Purposes[0]
		}
	}
	return values
}

// renderForm shows the creation (id 0) or edit form of a resource.
func (s *server) renderForm(w http.ResponseWriter, r *http.Request, st *session, res *resource, id int64, values, errs map[string]string, status int) {
	edit := id != 0
	if errs == nil {
		errs = map[string]string{}
	}
	cols := s.formColumns(res.t, st.User.Department, edit)
	v := &formView{Fields: s.fields(res.t, cols, values, errs, st, edit), Channel: s.channelField(values["_canal"], errs)}
	v.Errors = s.summary(res.t, append(slices.Clone(v.Fields), v.Channel), errs)
	for _, f := range v.Fields {
		v.HasRequiredFields = v.HasRequiredFields || f.Required
	}
	if edit {
		ref := "/" + res.Path + "/" + strconv.FormatInt(id, 10)
		v.Heading = "Modifier : " + res.t.Label + " n° " + strconv.FormatInt(id, 10)
		v.Action, v.Cancel, v.Submit = ref+"/modifier", ref, "Enregistrer les modifications"
	} else {
		v.Heading = res.NewLabel
		v.Action, v.Cancel, v.Submit = "/"+res.Path+"/nouveau", "/"+res.Path, "Créer"
		if p := values[res.t.PersonColumn]; p != "" && res.t.PersonColumn != "id" {
			v.Cancel = "/personnes/" + p
		}
	}
	if !edit && res.Table == "quotes" {
		v.Confirm = &formField{ID: "f-confirmation", Name: "_confirmation", Widget: "checkbox", Checked: values["_confirmation"] == "true",
			Label: "La personne a confirmé, dans ce parcours de devis, les informations la concernant",
			Help: "Nécessaire quand ses données ont été collectées pour la prospection ou il y a plus de " +
				strconv.Itoa(s.maxDataAge()) + " mois : relisez-les-lui, corrigez-les si besoin, puis cochez.",
			Error: errs["_person_confirmed"]}
		v.Confirm.describe()
	}
	v.Multipart = slices.ContainsFunc(cols, func(c *dictionary.Column) bool { return c.Kind == dictionary.KindBlob })
	s.render(w, r, st, status, "form", v.Heading, v)
}

// newForm shows an empty creation form, prefilled from ?personne=ID when coming from a person.
func (s *server) newForm(res *resource) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, st *session) {
		if !res.t.CanWrite(st.User.Department) {
			s.forbidden(w, r, st, res.t.Label+" : ce service ne peut pas créer ces données")
			return
		}
		values := s.defaults(res.t, s.formColumns(res.t, st.User.Department, false), st)
		if p, err := strconv.ParseInt(r.URL.Query().Get("personne"), 10, 64); err == nil && p > 0 && res.t.PersonColumn != "id" {
			values[res.t.PersonColumn] = strconv.FormatInt(p, 10)
		}
		s.renderForm(w, r, st, res, 0, values, nil, http.StatusOK)
	}
}

// create writes a new record; on a refusal the form comes back with the values kept and each
// message beside its field.
func (s *server) create(res *resource) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, st *session) {
		if !res.t.CanWrite(st.User.Department) {
			s.forbidden(w, r, st, res.t.Label+" : ce service ne peut pas créer ces données")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			s.renderForm(w, r, st, res, 0, map[string]string{}, map[string]string{"_form": "formulaire illisible ou trop volumineux"}, http.StatusBadRequest)
			return
		}
		cols := s.formColumns(res.t, st.User.Department, false)
		values := readForm(r, cols)
		values["_canal"] = r.PostFormValue("_canal")
		values["_confirmation"] = r.PostFormValue("_confirmation")
		rec, err := s.app.Records.Create(r.Context(), st.Actor, res.Table, record.Input{
			Text: s.textInput(cols, values, nil), Channel: values["_canal"],
			PersonConfirmed: res.Table == "quotes" && values["_confirmation"] == "true",
		})
		var invalid *record.ValidationError
		if errors.As(err, &invalid) {
			s.renderForm(w, r, st, res, 0, values, fieldErrors(invalid), http.StatusBadRequest)
			return
		}
		if err != nil {
			s.fail(w, r, st, err)
			return
		}
		http.Redirect(w, r, "/"+res.Path+"/"+strconv.FormatInt(rec.ID, 10), http.StatusSeeOther)
	}
}

// currentValues are a record's values as the edit form shows them.
func (s *server) currentValues(rec *record.Record, cols []*dictionary.Column) map[string]string {
	values := map[string]string{}
	for _, c := range cols {
		if v, ok := rec.Values[c.Name]; ok {
			values[c.Name] = s.formValue(c, v)
		}
	}
	return values
}

func (s *server) editForm(res *resource) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, st *session) {
		id, ok := pathID(r)
		if !ok {
			s.notFound(w, r, st)
			return
		}
		rec, err := s.app.Records.Get(r.Context(), st.Actor, res.Table, id)
		if err != nil {
			s.fail(w, r, st, err)
			return
		}
		if !res.t.CanWrite(st.User.Department) {
			s.forbidden(w, r, st, res.t.Label+" : ce service ne peut pas modifier ces données")
			return
		}
		s.renderForm(w, r, st, res, id, s.currentValues(rec, s.formColumns(res.t, st.User.Department, true)), nil, http.StatusOK)
	}
}

func (s *server) update(res *resource) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, st *session) {
		id, ok := pathID(r)
		if !ok {
			s.notFound(w, r, st)
			return
		}
		if !res.t.CanWrite(st.User.Department) {
			s.forbidden(w, r, st, res.t.Label+" : ce service ne peut pas modifier ces données")
			return
		}
		rec, err := s.app.Records.Get(r.Context(), st.Actor, res.Table, id)
		if err != nil {
			s.fail(w, r, st, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			s.fail(w, r, st, &record.ValidationError{Fields: []*dictionary.FieldError{{Field: "_form", Rule: "form", Message: "formulaire illisible ou trop volumineux"}}})
			return
		}
		cols := s.formColumns(res.t, st.User.Department, true)
		values := readForm(r, cols)
		values["_canal"] = r.PostFormValue("_canal")
		changed := s.textInput(cols, values, s.currentValues(rec, cols))
		detail := "/" + res.Path + "/" + strconv.FormatInt(id, 10)
		if len(changed) == 0 {
			http.Redirect(w, r, detail, http.StatusSeeOther)
			return
		}
		_, err = s.app.Records.Update(r.Context(), st.Actor, res.Table, id, record.Input{Text: changed, Channel: values["_canal"]})
		var invalid *record.ValidationError
		if errors.As(err, &invalid) {
			s.renderForm(w, r, st, res, id, values, fieldErrors(invalid), http.StatusBadRequest)
			return
		}
		if err != nil {
			s.fail(w, r, st, err)
			return
		}
		http.Redirect(w, r, detail, http.StatusSeeOther)
	}
}

// --- Documents --------------------------------------------------------------------------------

// upload stores a document. Text cannot carry bytes, so the values go to the store as JSON
// (record.Input.Fields), the file base64-encoded. The format is detected from the content, never
// trusted from the browser, and must be one the dictionary allows.
func (s *server) upload(w http.ResponseWriter, r *http.Request, st *session) {
	res := s.res["documents"]
	t := res.t
	if !t.CanWrite(st.User.Department) {
		s.forbidden(w, r, st, t.Label+" : ce service ne peut pas créer ces données")
		return
	}
	cols := s.formColumns(t, st.User.Department, false)
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
	// The whole form is kept in memory: the file is personal data and must not be written
	// unencrypted to a temporary file.
	if err := r.ParseMultipartForm(maxUpload + 1<<20); err != nil {
		msg := "formulaire illisible"
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			msg = "le fichier dépasse 10 Mio"
		}
		s.renderForm(w, r, st, res, 0, map[string]string{}, map[string]string{"content": msg}, http.StatusBadRequest)
		return
	}
	defer r.MultipartForm.RemoveAll()
	values := readForm(r, cols)
	values["_canal"] = r.PostFormValue("_canal")
	fields := map[string]json.RawMessage{}
	for name, v := range s.textInput(cols, values, nil) {
		fields[name] = textJSON(t.Column(name), v)
	}
	errs := map[string]string{}
	file, header, err := r.FormFile("content")
	switch {
	case errors.Is(err, http.ErrMissingFile):
	case err != nil:
		errs["content"] = "fichier illisible"
	default:
		data, err := io.ReadAll(io.LimitReader(file, maxUpload+1))
		file.Close()
		contentType, _, _ := strings.Cut(http.DetectContentType(data), ";")
		allowed := t.Column("content_type").Values
		switch {
		case err != nil:
			errs["content"] = "fichier illisible"
		case len(data) > maxUpload:
			errs["content"] = "le fichier dépasse 10 Mio"
		case !slices.Contains(allowed, contentType):
			errs["content"] = "format de fichier non accepté ; formats admis : PDF, PNG, JPEG, texte"
		default:
			fields["content_type"], _ = json.Marshal(contentType)
			fields["content"], _ = json.Marshal(data) // base64
			if _, named := fields["filename"]; !named {
				if name := cleanFilename(header.Filename); name != "" {
					fields["filename"], _ = json.Marshal(name)
					values["filename"] = name
				}
			}
		}
	}
	if len(errs) > 0 {
		s.renderForm(w, r, st, res, 0, values, errs, http.StatusBadRequest)
		return
	}
	rec, err := s.app.Records.Create(r.Context(), st.Actor, t.Name, record.Input{Fields: fields, Channel: values["_canal"]})
	var invalid *record.ValidationError
	if errors.As(err, &invalid) {
		errs := fieldErrors(invalid)
		if _, ok := errs["content"]; ok {
			delete(errs, "content_type") // one message for a missing file is enough
		}
		s.renderForm(w, r, st, res, 0, values, errs, http.StatusBadRequest)
		return
	}
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	http.Redirect(w, r, "/documents/"+strconv.FormatInt(rec.ID, 10), http.StatusSeeOther)
}

var plainNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// textJSON turns a typed-in value into the JSON value the store decodes for the column; what does
// not parse is sent as a string, for the store to refuse with its own message.
func textJSON(c *dictionary.Column, v string) json.RawMessage {
	v = strings.TrimSpace(v)
	switch c.Kind {
	case dictionary.KindBigint, dictionary.KindInteger, dictionary.KindNumeric:
		if n := strings.Replace(v, ",", ".", 1); plainNumber.MatchString(n) {
			return json.RawMessage(n)
		}
	case dictionary.KindBoolean:
		if v == "true" || v == "false" {
			return json.RawMessage(v)
		}
	}
	b, _ := json.Marshal(v)
	return b
}

// cleanFilename keeps the last element of an uploaded file's name, without control characters,
// within the dictionary's 200 characters.
func cleanFilename(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name))
	if !utf8.ValidString(name) {
		return ""
	}
	if r := []rune(name); len(r) > 200 {
		name = string(r[:200])
	}
	return name
}

// fileExtensions name a download after its format.
var fileExtensions = map[string]string{"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg", "text/plain": ".txt"}

// download sends a document's decrypted content as an attachment under a neutral ASCII name: the
// stored file name is personal data and stays out of headers.
func (s *server) download(w http.ResponseWriter, r *http.Request, st *session) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r, st)
		return
	}
	rec, err := s.app.Records.Get(r.Context(), st.Actor, "documents", id)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	data, err := s.app.Records.Blob(r.Context(), st.Actor, "documents", id, "content")
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	sendFile(w, "document-"+strconv.FormatInt(id, 10), rec, data)
}

// sendFile sends a file as an attachment named base plus the extension of the record's content
// type: an ASCII name of Vigie's, since the stored file name is personal data.
func sendFile(w http.ResponseWriter, base string, rec *record.Record, data []byte) {
	contentType, _ := rec.Values["content_type"].(string)
	ext, known := fileExtensions[contentType]
	if !known {
		contentType, ext = "application/octet-stream", ".bin"
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+base+ext+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// --- Ticket messages --------------------------------------------------------------------------

// messageForm is the form under a ticket's messages; nil when the department may not write them.
func (s *server) messageForm(st *session, ticketID int64, values, errs map[string]string, channel string) *formView {
	t := s.dict.Table("ticket_messages")
	if t == nil || !t.CanWrite(st.User.Department) {
		return nil
	}
	cols := s.formColumns(t, st.User.Department, false)
	if values == nil {
		values = s.defaults(t, cols, st)
	}
	if errs == nil {
		errs = map[string]string{}
	}
	v := &formView{Heading: "Nouveau message", Fields: s.fields(t, cols, values, errs, st, false),
		Channel: s.channelField(channel, errs), Submit: "Ajouter le message",
		Action: "/tickets/" + strconv.FormatInt(ticketID, 10) + "/messages"}
	v.Errors = s.summary(t, append(slices.Clone(v.Fields), v.Channel), errs)
	for _, f := range v.Fields {
		v.HasRequiredFields = v.HasRequiredFields || f.Required
	}
	return v
}

func (s *server) addMessage(w http.ResponseWriter, r *http.Request, st *session) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r, st)
		return
	}
	t := s.dict.Table("ticket_messages")
	if !t.CanWrite(st.User.Department) {
		s.forbidden(w, r, st, t.Label+" : ce service ne peut pas créer ces données")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, st, &record.ValidationError{Fields: []*dictionary.FieldError{{Field: "_form", Rule: "form", Message: "formulaire illisible ou trop volumineux"}}})
		return
	}
	cols := s.formColumns(t, st.User.Department, false)
	values := readForm(r, cols)
	channel := r.PostFormValue("_canal")
	_, err := s.app.Records.Create(r.Context(), st.Actor, t.Name, record.Input{
		Text: s.textInput(cols, values, nil), Channel: channel, Parent: id,
	})
	var invalid *record.ValidationError
	if errors.As(err, &invalid) {
		ticket, gerr := s.app.Records.Get(r.Context(), st.Actor, "tickets", id)
		if gerr != nil {
			s.fail(w, r, st, gerr)
			return
		}
		s.renderDetail(w, r, st, s.res["tickets"], ticket, http.StatusBadRequest, s.messageForm(st, id, values, fieldErrors(invalid), channel))
		return
	}
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	http.Redirect(w, r, "/tickets/"+strconv.FormatInt(id, 10)+"#messages", http.StatusSeeOther)
}
