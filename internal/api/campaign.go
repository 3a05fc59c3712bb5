package api

import (
	"errors"
	"net/http"
	"strings"

	"vigie/internal/campaign"
	"vigie/internal/outbox"
)

// The e-mail campaign through the API (R19, R20, R28), for the prospection department: the same
// sending as the « Campagnes » page. The campaign service checks the text, finds the persons who
// accept e-mail prospection at that moment and queues their messages, to which the outbox adds the
// signed withdrawal link; this handler lets the department through before a body is read, decodes,
// and maps the refusals to the fields and rules they name. A refused campaign queues nothing.

const campaignForbidden = "réservé au service prospection : les campagnes sont envoyées par le service prospection"

// NewCampaign is a campaign as the API receives it: one subject and one text for everyone.
type NewCampaign struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// CampaignResult is what a campaign queued.
type CampaignResult struct {
	// Queued messages leave through the outbox, each with its withdrawal link, if the person still
	// accepts e-mail prospection when it leaves.
	Queued int `json:"queued"`
	// Skipped persons accept e-mail prospection but have no address the outbox can send to.
	Skipped int `json:"skipped"`
}

// sendCampaign queues an e-mail campaign to the persons who accept e-mail prospection now; it
// answers 202 with the counts, the messages leaving through the outbox.
func (h *Handler) sendCampaign(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	if c.actor.Department != campaign.Department { // before the body is read; the service checks it again
		writeError(w, http.StatusForbidden, "forbidden", campaignForbidden, nil)
		return
	}
	var subject, body *string
	if !decodeFields(w, r, map[string]any{"subject": &subject, "body": &body}) {
		return
	}
	for _, f := range []struct {
		name    string
		v       *string
		message string
	}{{"subject", subject, "l'objet est obligatoire (une ligne)"}, {"body", body, "le texte du message est obligatoire"}} {
		if f.v == nil || strings.TrimSpace(*f.v) == "" {
			badRequest(w, f.name, "required", f.message)
			return
		}
	}
	res, err := h.app.Campaigns.Send(r.Context(), c.actor, campaign.Campaign{Subject: *subject, Body: *body})
	var bad *campaign.InputError
	switch {
	case errors.As(err, &bad) && bad.Field == "public_url":
		// Not the caller's input: the installation lacks the public address of the withdrawal link.
		writeError(w, http.StatusServiceUnavailable, "public_url_not_configured", bad.Message, nil)
	case errors.As(err, &bad): // the service names its fields subject and body, as the API does
		badRequest(w, bad.Field, bad.Rule, bad.Message)
	case err != nil:
		h.fail(w, r, err) // a record.ForbiddenError is a 403 there
	default:
		writeJSON(w, http.StatusAccepted, CampaignResult{Queued: res.Queued, Skipped: res.Skipped})
	}
}

// campaignSchemas describes the campaign's bodies. The request is strict: any other member is
// refused (unknown_field).
func campaignSchemas(schemas map[string]any) {
	o := obj(map[string]any{
		"subject": map[string]any{"type": "string", "minLength": 1, "maxLength": outbox.MaxSubject, "description": "One line, the same for everyone; no personal data"},
		"body": map[string]any{"type": "string", "minLength": 1, "maxLength": outbox.MaxBody,
			"description": "Plain text, the same for everyone; refused if it carries data Vigie must never hold (a NIR, a card number, health data…). The outbox adds the signed withdrawal link"},
	}, "subject", "body")
	o["additionalProperties"] = false
	schemas["NewCampaign"] = o
	schemas["CampaignResult"] = obj(map[string]any{
		"queued":  map[string]any{"type": "integer", "description": "Messages queued, one per person who accepts e-mail prospection now; the consent is checked again as each leaves"},
		"skipped": map[string]any{"type": "integer", "description": "Persons who accept but have no address the outbox can send to"},
	}, "queued", "skipped")
}

// campaignResponses describes the campaign's answers; out already holds 401 and 403.
func campaignResponses(out map[string]any) {
	errResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": jsonContent(ref("Error"))}
	}
	out["202"] = map[string]any{"description": "Queued; the messages leave through the outbox", "content": jsonContent(ref("CampaignResult"))}
	out["400"] = errResp("subject or body missing or empty (required), a subject on two lines (single_line), too long (max_length), control characters (text), a text carrying data Vigie must never hold (sensitive_…), an unknown member (unknown_field), a body that is not a JSON object (json.object); nothing was queued")
	out["403"] = errResp("Only the prospection department sends campaigns")
	out["503"] = errResp("public_url_not_configured: VIGIE_PUBLIC_URL is not set, so no message could carry its withdrawal link; nothing was queued")
}
