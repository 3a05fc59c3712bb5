package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"vigie/internal/campaign"
	"vigie/internal/consent"
	"vigie/internal/record"
)

// The consents of a person, on their page: the latest choice per purpose and the history, a form
// to record a choice told by phone or at the agency (with who and when), and the objection.

type consentRow struct {
	Purpose, State, When, Channel, Method, Notice, NoticeHref string
	By                                                        string
}

type consentSection struct {
	PersonID  int64
	Current   []consentRow
	History   []consentRow
	Objected  bool
	CanRecord bool
	CanObject bool
	Purposes  []option
	Channels  []option
	Message   string
	Error     string
}

// staffChannels are how a person tells a staff member their choice.
var staffChannels = []string{"phone", "agency", "letter", "email"}

func (s *server) consentSection(ctx context.Context, st *session, personID int64, objected bool) (*consentSection, error) {
	dept := st.User.Department
	if !slices.Contains(s.dict.Table("consents").Read, dept) {
		return nil, nil
	}
	history, err := s.app.Consent.History(ctx, personID, st.User.ID, dept)
	if err != nil {
		return nil, err
	}
	users, err := s.app.Auth.Users(ctx)
	if err != nil {
		return nil, err
	}
	names := map[int64]string{}
	for _, u := range users {
		names[u.ID] = u.DisplayName
	}
	row := func(e consent.Entry) consentRow {
		r := consentRow{Purpose: e.Purpose, State: "refusé", When: s.frenchTime(e.GivenAt), Channel: s.channelLabel(e.Channel),
			Method: methodLabel[e.Method], By: names[e.RecordedBy]}
		if p := consent.PurposeByCode(e.Purpose); p != nil {
			r.Purpose = p.Label
		}
		if e.Granted {
			r.State = "accordé"
		}
		if e.NoticeHash != "" {
			r.Notice, r.NoticeHref = e.NoticeHash[:12], "/confidentialite/"+e.NoticeHash
		}
		return r
	}
	sec := &consentSection{PersonID: personID, Objected: objected,
		CanRecord: slices.Contains(s.dict.Table("consents").Write, dept),
		CanObject: slices.Contains(s.dict.Table("objections").Write, dept) && !objected}
	current := consent.Current(history)
	for _, p := range consent.Purposes {
		if e, ok := current[p.Code]; ok {
			sec.Current = append(sec.Current, row(e))
		} else {
			sec.Current = append(sec.Current, consentRow{Purpose: p.Label, State: "jamais demandé (vaut refus)"})
		}
		sec.Purposes = append(sec.Purposes, option{Value: p.Code, Label: p.Label})
	}
	for i := len(history) - 1; i >= 0; i-- {
		sec.History = append(sec.History, row(history[i]))
	}
	for _, ch := range staffChannels {
		sec.Channels = append(sec.Channels, option{Value: ch, Label: s.channelLabel(ch)})
	}
	return sec, nil
}

// recordConsent records a choice the person told a staff member (R18): purpose, granted or
// refused, how, and when they said it; who recorded it is the signed-in user.
func (s *server) recordConsent(w http.ResponseWriter, r *http.Request, st *session) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r, st)
		return
	}
	if _, err := s.app.Records.Get(r.Context(), st.Actor, "persons", id); err != nil {
		s.fail(w, r, st, err)
		return
	}
	if !slices.Contains(s.dict.Table("consents").Write, st.User.Department) {
		s.forbidden(w, r, st, "Consentements : ce service ne peut pas les enregistrer")
		return
	}
	p := consent.Proof{Channel: r.PostFormValue("channel"), Method: consent.MethodStaff, RecordedBy: st.User.ID, Department: st.User.Department}
	var problem string
	if at := r.PostFormValue("given_at"); at != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", at, s.paris)
		if err != nil {
			problem = "Date du choix : une date et une heure sont attendues."
		}
		p.GivenAt = t
	}
	granted := r.PostFormValue("granted")
	if granted != "true" && granted != "false" {
		problem = "Choix : indiquez « accordé » ou « refusé »."
	}
	if problem == "" {
		err := s.app.Consent.Record(r.Context(), id, []consent.Choice{{Purpose: r.PostFormValue("purpose"), Granted: granted == "true"}}, p)
		var ie *consent.InputError
		switch {
		case errors.As(err, &ie):
			problem = consentFieldLabel[ie.Field] + " : " + ie.Message + "."
		case err != nil:
			s.fail(w, r, st, err)
			return
		}
	}
	if problem != "" {
		s.renderPersonWithConsentMessage(w, r, st, id, http.StatusUnprocessableEntity, "", problem)
		return
	}
	http.Redirect(w, r, "/personnes/"+strconv.FormatInt(id, 10)+"#consentements", http.StatusSeeOther)
}

var consentFieldLabel = map[string]string{"purpose": "Finalité", "channel": "Canal", "method": "Mode", "given_at": "Date du choix"}

// recordObjection records an objection told to a staff member (art. 21, R28).
func (s *server) recordObjection(w http.ResponseWriter, r *http.Request, st *session) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r, st)
		return
	}
	if _, err := s.app.Records.Get(r.Context(), st.Actor, "persons", id); err != nil {
		s.fail(w, r, st, err)
		return
	}
	if !slices.Contains(s.dict.Table("objections").Write, st.User.Department) {
		s.forbidden(w, r, st, "Oppositions : ce service ne peut pas les enregistrer")
		return
	}
	err := s.app.Consent.Object(r.Context(), id, "prospection", consent.Proof{Channel: r.PostFormValue("channel"),
		RecordedBy: st.User.ID, Department: st.User.Department})
	var ie *consent.InputError
	switch {
	case errors.As(err, &ie):
		s.renderPersonWithConsentMessage(w, r, st, id, http.StatusUnprocessableEntity, "", consentFieldLabel[ie.Field]+" : "+ie.Message+".")
		return
	case err != nil:
		s.fail(w, r, st, err)
		return
	}
	if slices.Contains(st.Actor.Purposes, "prospection") {
		// The person is now out of prospection's sight: back to the list, with the reason.
		s.render(w, r, st, http.StatusOK, "error", "Opposition enregistrée", errorView{Heading: "Opposition enregistrée",
			Message: "La personne s'est opposée à la prospection : elle n'apparaît plus dans les listes ni les exports de prospection."})
		return
	}
	http.Redirect(w, r, "/personnes/"+strconv.FormatInt(id, 10)+"#consentements", http.StatusSeeOther)
}

func (s *server) renderPersonWithConsentMessage(w http.ResponseWriter, r *http.Request, st *session, id int64, status int, msg, problem string) {
	rec, err := s.app.Records.Get(r.Context(), st.Actor, "persons", id)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	s.renderDetailWith(w, r, st, s.res["persons"], rec, status, nil, func(v *detailView) {
		if v.Consents != nil {
			v.Consents.Message, v.Consents.Error = msg, problem
		}
	})
}

// campaign lists who a prospection campaign may reach now through a channel: each person's latest
// choice is checked when the list is made (R20), objections and restrictions excluded (R28, R29).
func (s *server) campaign(w http.ResponseWriter, r *http.Request, st *session) {
	if !slices.Contains(st.Actor.Purposes, "prospection") {
		s.forbidden(w, r, st, "Campagnes : réservées au service prospection")
		return
	}
	purpose := r.URL.Query().Get("canal")
	if purpose == "" {
		purpose = "prospection_email"
	}
	p := consent.PurposeByCode(purpose)
	if p == nil || p.Register != "prospection" {
		s.notFound(w, r, st)
		return
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("apres"), 10, 64)
	ids, err := s.app.Consent.Targets(r.Context(), purpose, after, pageSize+1)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	next := int64(0)
	if len(ids) > pageSize {
		ids, next = ids[:pageSize], ids[pageSize-1]
	}
	var recs []*record.Record
	for _, id := range ids {
		rec, err := s.app.Records.Get(r.Context(), st.Actor, "persons", id)
		if errors.Is(err, record.ErrNotFound) {
			continue
		}
		if err != nil {
			s.fail(w, r, st, err)
			return
		}
		recs = append(recs, rec)
	}
	res := s.res["persons"]
	v := listView{Heading: "Campagne : " + p.Label, Table: s.table(res, st, recs, ""),
		Note: "Seules les personnes dont le dernier choix est un consentement à ce canal figurent ici, vérifié à l'instant ; " +
			"les personnes opposées à la prospection, au traitement limité ou décédées en sont exclues."}
	for _, cp := range consent.Purposes {
		if cp.Register == "prospection" {
			v.Tabs = append(v.Tabs, navItem{Label: cp.Label, Href: "/campagnes?canal=" + cp.Code, Current: cp.Code == purpose})
		}
	}
	if next != 0 {
		v.Next = "/campagnes?canal=" + purpose + "&apres=" + strconv.FormatInt(next, 10)
	}
	if purpose == campaign.Purpose {
		v.Mailing = &mailingForm{Ready: s.app.Outbox.Prospects()}
	}
	s.render(w, r, st, http.StatusOK, "list", v.Heading, v)
}

// mailingForm is the e-mail campaign's form: what was typed, and what was refused or done.
type mailingForm struct {
	Ready         bool // the public address of the withdrawal link is configured
	Subject, Body string
	Errors        map[string]string
	Done          string
}

// sendCampaign queues an e-mail campaign to the persons who accept e-mail prospection now; a
// refused campaign shows the list again with the text typed and the reason beside its field.
func (s *server) sendCampaign(w http.ResponseWriter, r *http.Request, st *session) {
	if err := r.ParseForm(); err != nil {
		s.unreadableForm(w, r)
		return
	}
	c := campaign.Campaign{Subject: r.PostFormValue("objet"), Body: r.PostFormValue("texte")}
	res, err := s.app.Campaigns.Send(r.Context(), st.Actor, c)
	var bad *campaign.InputError
	var forbidden *record.ForbiddenError
	switch {
	case errors.As(err, &forbidden):
		s.forbidden(w, r, st, "Campagnes : réservées au service prospection")
	case errors.As(err, &bad):
		form := &mailingForm{Ready: s.app.Outbox.Prospects(), Subject: c.Subject, Body: c.Body, Errors: map[string]string{mailingFields[bad.Field]: bad.Message}}
		s.render(w, r, st, http.StatusUnprocessableEntity, "list", "Campagne : e-mail", listView{Heading: "Campagne : envoi refusé", Mailing: form})
	case err != nil:
		s.fail(w, r, st, err)
	default:
		done := fmt.Sprintf("%d message(s) mis en file d'envoi, chacun avec son lien de retrait", res.Queued)
		if res.Skipped > 0 {
			done += fmt.Sprintf(" ; %d personne(s) sans adresse utilisable", res.Skipped)
		}
		s.render(w, r, st, http.StatusOK, "list", "Campagne envoyée", listView{Heading: "Campagne envoyée", Mailing: &mailingForm{Ready: true, Done: done + "."}})
	}
}

// mailingFields are the form's names of the campaign's fields.
var mailingFields = map[string]string{"subject": "objet", "body": "texte", "public_url": "objet"}
