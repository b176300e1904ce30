package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/siyu-commerce/siyu/internal/crm"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/money"
)

// crmRoles read and shape the pool: operators.
var crmRoles = []identity.Role{identity.Operator}

// crmRoutes registers the operators' crm API (package crm): layer rules
// and counts, a buyer's profile and layer history, RFM cells, segments
// with a preview, and manual tags.
func (a *api) crmRoutes() {
	a.handle("GET /admin/api/v1/crm/rules", a.admin(crmRoles, a.getCRMRules))
	a.handle("PUT /admin/api/v1/crm/rules", a.admin(crmRoles, a.putCRMRules))
	a.handle("POST /admin/api/v1/crm/recompute", a.admin(crmRoles, a.recomputeCRM))
	a.handle("GET /admin/api/v1/crm/layers", a.admin(crmRoles, a.crmLayers))
	a.handle("GET /admin/api/v1/crm/rfm", a.admin(crmRoles, a.crmCells))
	a.handle("GET /admin/api/v1/crm/buyers/{id}", a.admin(crmRoles, a.crmBuyer))
	a.handle("POST /admin/api/v1/crm/buyers/{id}/tags", a.admin(crmRoles, a.addCRMTag))
	a.handle("DELETE /admin/api/v1/crm/buyers/{id}/tags/{tag}", a.admin(crmRoles, a.removeCRMTag))
	a.handle("GET /admin/api/v1/crm/segments", a.admin(crmRoles, a.listSegments))
	a.handle("POST /admin/api/v1/crm/segments", a.admin(crmRoles, a.createSegment))
	a.handle("POST /admin/api/v1/crm/segments/preview", a.admin(crmRoles, a.previewSegment))
	a.handle("GET /admin/api/v1/crm/segments/{id}", a.admin(crmRoles, a.getSegment))
	a.handle("PUT /admin/api/v1/crm/segments/{id}", a.admin(crmRoles, a.updateSegment))
	a.handle("DELETE /admin/api/v1/crm/segments/{id}", a.admin(crmRoles, a.deleteSegment))
}

func (a *api) getCRMRules(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	rules, err := a.d.CRM.Rules(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, rules)
}

// crmRulesRequest is the whole rule set: every field is required, so a
// client that forgets one is told, not silently given a default.
type crmRulesRequest struct {
	NewDays          *int       `json:"new_days"`
	ActiveVisits     *int       `json:"active_visits"`
	ActiveWindowDays *int       `json:"active_window_days"`
	SilentDays       *int       `json:"silent_days"`
	LoyalSpent       *money.Fen `json:"loyal_spent"`
	LoyalWindowDays  *int       `json:"loyal_window_days"`
	RFMWindowDays    *int       `json:"rfm_window_days"`
}

func (req crmRulesRequest) toRules() (crm.Rules, error) {
	var l errs.List
	num := func(field string, p *int) int {
		if p == nil {
			l.Add(field, "required", "%s is required", field)
			return 0
		}
		return *p
	}
	r := crm.Rules{NewDays: num("new_days", req.NewDays), ActiveVisits: num("active_visits", req.ActiveVisits),
		ActiveWindowDays: num("active_window_days", req.ActiveWindowDays), SilentDays: num("silent_days", req.SilentDays),
		LoyalWindowDays: num("loyal_window_days", req.LoyalWindowDays), RFMWindowDays: num("rfm_window_days", req.RFMWindowDays)}
	if req.LoyalSpent == nil {
		l.Add("loyal_spent", "required", "loyal_spent is required")
	} else {
		r.LoyalSpent = *req.LoyalSpent
	}
	return r, l.Err()
}

func (a *api) putCRMRules(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req crmRulesRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	rules, err := req.toRules()
	if err == nil {
		rules, err = a.d.CRM.SaveRules(r.Context(), rules)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, rules)
}

// recomputeCRM runs a complete recompute now and answers when it is done
// (the daily job does the same on its own).
func (a *api) recomputeCRM(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	res, err := a.d.CRM.Recompute(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"moves": res.Moves, "profiles": res.Profiles,
		"segments": res.Segments, "took_ms": res.Took.Milliseconds()})
}

func (a *api) crmLayers(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	c, err := a.d.CRM.LayerCounts(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"layers": c})
}

func (a *api) crmCells(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	c, err := a.d.CRM.CellCounts(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"cells": c})
}

// crmBuyer is a buyer's profile and layer history: no personal data.
func (a *api) crmBuyer(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id := r.PathValue("id")
	p, err := a.d.CRM.Profile(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	moves, err := a.d.CRM.Moves(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"profile": p, "moves": moves})
}

type crmTagRequest struct {
	Tag string `json:"tag"`
}

func (a *api) addCRMTag(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req crmTagRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	a.answerTags(w, r, a.d.CRM.AddTag(r.Context(), r.PathValue("id"), req.Tag))
}

func (a *api) removeCRMTag(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	a.answerTags(w, r, a.d.CRM.RemoveTag(r.Context(), r.PathValue("id"), r.PathValue("tag")))
}

// answerTags answers a tag change with the buyer's tags as they are now.
func (a *api) answerTags(w http.ResponseWriter, r *http.Request, err error) {
	var p *crm.Profile
	if err == nil {
		p, err = a.d.CRM.Profile(r.Context(), r.PathValue("id"))
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"tags": p.Tags})
}

type segmentRequest struct {
	Name string `json:"name"`
	Expr string `json:"expr"`
	Tag  bool   `json:"tag"`
}

func (a *api) listSegments(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	segs, err := a.d.CRM.Segments(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"segments": segs})
}

func (a *api) createSegment(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req segmentRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	sg, err := a.d.CRM.CreateSegment(r.Context(), crm.NewSegment(req))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, sg)
}

func (a *api) getSegment(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	sg, err := a.d.CRM.Segment(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, sg)
}

func (a *api) updateSegment(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req segmentRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	sg, err := a.d.CRM.UpdateSegment(r.Context(), r.PathValue("id"), crm.NewSegment(req))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, sg)
}

func (a *api) deleteSegment(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	if err := a.d.CRM.DeleteSegment(r.Context(), r.PathValue("id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type previewRequest struct {
	Expr string `json:"expr"`
}

// sampleBuyer is one buyer of a preview's sample: the profile and, when
// the buyer has a default address, its name and phone masked as
// DOMAIN.md's compliance lines say (identity.MaskName, MaskPhone).
type sampleBuyer struct {
	crm.Profile
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
}

func (a *api) previewSegment(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req previewRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 25*time.Second)
	defer cancel()
	pv, err := a.d.CRM.Preview(ctx, req.Expr)
	if err != nil {
		writeError(w, r, err)
		return
	}
	sample := make([]sampleBuyer, 0, len(pv.Sample))
	for _, p := range pv.Sample {
		sb := sampleBuyer{Profile: p}
		addrs, err := a.d.Identity.Addresses(ctx, p.BuyerID)
		if err != nil {
			writeError(w, r, err)
			return
		}
		for _, ad := range addrs {
			if ad.IsDefault {
				m := ad.Masked()
				sb.Name, sb.Phone = m.Name, m.Phone
			}
		}
		sample = append(sample, sb)
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"count": pv.Count, "sample": sample})
}
