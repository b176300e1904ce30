package httpapi

import (
	"net/http"

	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/membership"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// membershipRoutes registers the member tier API (docs/points.md, "Member
// tiers"): a buyer reads their own tier; operators set the program and
// read any buyer's.
func (a *api) membershipRoutes() {
	if a.d.Members == nil {
		return
	}
	a.handle("GET /api/v1/membership", a.buyer(a.myMembership))
	a.handle("GET /admin/api/v1/membership/program", a.admin(pointsReadRoles, a.getMembershipProgram))
	a.handle("PUT /admin/api/v1/membership/program", a.admin(pointsWriteRoles, a.putMembershipProgram))
	a.handle("GET /admin/api/v1/buyers/{id}/membership", a.admin(pointsReadRoles, a.buyerMembership))
}

func (a *api) myMembership(w http.ResponseWriter, r *http.Request, buyerID string) {
	m, err := a.d.Members.Member(r.Context(), buyerID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, m)
}

func (a *api) getMembershipProgram(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	p, err := a.d.Members.Program(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, p)
}

func (a *api) putMembershipProgram(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req membership.Program
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	p, err := a.d.Members.SetProgram(r.Context(), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, p)
}

func (a *api) buyerMembership(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id := r.PathValue("id")
	if !ids.Valid(id) {
		writeError(w, r, identity.ErrBuyerNotFound)
		return
	}
	m, err := a.d.Members.Member(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, m)
}
