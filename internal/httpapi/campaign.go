package httpapi

import (
	"net/http"
	"time"

	"github.com/siyu-commerce/siyu/internal/campaign"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
)

// Operators write and run campaigns; compliance reviewers read and review
// them (the joint review of DOMAIN.md, "Compliance and risk").
var (
	campaignRoles       = []identity.Role{identity.Operator}
	campaignReadRoles   = []identity.Role{identity.Operator, identity.Reviewer}
	campaignReviewRoles = []identity.Role{identity.Reviewer}
)

// campaignRoutes registers the campaigns API (package campaign).
func (a *api) campaignRoutes() {
	a.handle("GET /admin/api/v1/campaigns", a.admin(campaignReadRoles, a.listCampaigns))
	a.handle("POST /admin/api/v1/campaigns", a.admin(campaignRoles, a.createCampaign))
	a.handle("GET /admin/api/v1/campaigns/{id}", a.admin(campaignReadRoles, a.getCampaign))
	a.handle("POST /admin/api/v1/campaigns/{id}/submit", a.admin(campaignRoles, a.submitCampaign))
	a.handle("POST /admin/api/v1/campaigns/{id}/review", a.admin(campaignReviewRoles, a.reviewCampaign))
	a.handle("POST /admin/api/v1/campaigns/{id}/run", a.admin(campaignRoles, a.runCampaign))
	a.handle("GET /admin/api/v1/campaigns/{id}/messages", a.admin(campaignReadRoles, a.campaignMessages))
}

// campaignMessages reads the sandbox message outbox of a campaign.
func (a *api) campaignMessages(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	ms, err := a.d.Campaigns.Messages(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"items": ms})
}

func (a *api) listCampaigns(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	cs, err := a.d.Campaigns.List(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"items": cs})
}

// campaignRequest is a draft; starts_at is required.
type campaignRequest struct {
	Name          string            `json:"name"`
	SegmentID     string            `json:"segment_id"`
	Actions       []campaign.Action `json:"actions"`
	StartsAt      *time.Time        `json:"starts_at"`
	Budget        int               `json:"budget"`
	FrequencyCap  int               `json:"frequency_cap"`
	FrequencyDays int               `json:"frequency_days"`
	HoldoutBP     int               `json:"holdout_bp"`
}

func (req campaignRequest) toNew() campaign.NewCampaign {
	in := campaign.NewCampaign{Name: req.Name, SegmentID: req.SegmentID, Actions: req.Actions, Budget: req.Budget,
		FrequencyCap: req.FrequencyCap, FrequencyDays: req.FrequencyDays, HoldoutBP: req.HoldoutBP}
	if req.StartsAt != nil {
		in.StartsAt = *req.StartsAt
	}
	return in
}

func (a *api) createCampaign(w http.ResponseWriter, r *http.Request, p identity.Principal) {
	var req campaignRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	c, err := a.d.Campaigns.Create(r.Context(), p.ID, req.toNew())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, c)
}

func (a *api) getCampaign(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	c, err := a.d.Campaigns.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, c)
}

func (a *api) submitCampaign(w http.ResponseWriter, r *http.Request, p identity.Principal) {
	c, err := a.d.Campaigns.Submit(r.Context(), p.ID, r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, c)
}

type reviewRequest struct {
	Decision string `json:"decision"` // approve or reject
	Note     string `json:"note"`
}

func (a *api) reviewCampaign(w http.ResponseWriter, r *http.Request, p identity.Principal) {
	var req reviewRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if req.Decision != "approve" && req.Decision != "reject" {
		writeError(w, r, errs.Field("decision", "invalid_decision", "decision is approve or reject"))
		return
	}
	c, err := a.d.Campaigns.Review(r.Context(), p.ID, r.PathValue("id"), req.Decision == "approve", req.Note)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, c)
}

type runRequest struct {
	DryRun bool `json:"dry_run"`
}

func (a *api) runCampaign(w http.ResponseWriter, r *http.Request, p identity.Principal) {
	var req runRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	res, err := a.d.Campaigns.Run(r.Context(), p.ID, r.PathValue("id"), req.DryRun)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, res)
}
