package httpapi

import (
	"net/http"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/points"
)

// Who runs points: operators set the rules and award tasks; finance reads
// a buyer's points beside them (the points are a liability on the book).
var (
	pointsWriteRoles = []identity.Role{identity.Operator}
	pointsReadRoles  = []identity.Role{identity.Operator, identity.Finance}
)

// pointsRoutes registers the points API (docs/points.md). A buyer reads
// and signs in for their own points only; spending is the points field of
// POST /api/v1/orders.
func (a *api) pointsRoutes() {
	if a.d.Points == nil {
		return
	}
	a.handle("GET /api/v1/points", a.buyer(a.myPoints))
	a.handle("POST /api/v1/points/sign-in", a.buyer(a.signIn))

	a.handle("GET /admin/api/v1/points/config", a.admin(pointsReadRoles, a.getPointsConfig))
	a.handle("PUT /admin/api/v1/points/config", a.admin(pointsWriteRoles, a.putPointsConfig))
	a.handle("POST /admin/api/v1/points/grants", a.admin(pointsWriteRoles, a.grantPoints))
	a.handle("GET /admin/api/v1/buyers/{id}/points", a.admin(pointsReadRoles, a.buyerPoints))
}

func (a *api) myPoints(w http.ResponseWriter, r *http.Request, buyerID string) {
	acc, err := a.d.Points.Account(r.Context(), buyerID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, acc)
}

func (a *api) signIn(w http.ResponseWriter, r *http.Request, buyerID string) {
	m, err := a.d.Points.SignIn(r.Context(), buyerID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, m)
}

func (a *api) getPointsConfig(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	c, err := a.d.Points.Config(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, c)
}

var errRequiredConfig = errs.Field("earn_rate_bp", "required",
	"send every rule: earn_rate_bp, sign_in_points, spend_cap_bp, expiry_days")

// pointsConfigRequest is the whole rule set: every field is required, so
// an operator never resets a rule by leaving it out.
type pointsConfigRequest struct {
	EarnRateBP   *money.BP `json:"earn_rate_bp"`
	SignInPoints *int64    `json:"sign_in_points"`
	SpendCapBP   *money.BP `json:"spend_cap_bp"`
	ExpiryDays   *int      `json:"expiry_days"`
}

func (a *api) putPointsConfig(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req pointsConfigRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if req.EarnRateBP == nil || req.SignInPoints == nil || req.SpendCapBP == nil || req.ExpiryDays == nil {
		writeError(w, r, errRequiredConfig)
		return
	}
	c, err := a.d.Points.SetConfig(r.Context(), points.Config{EarnRate: *req.EarnRateBP, SignIn: *req.SignInPoints,
		SpendCap: *req.SpendCapBP, ExpiryDays: *req.ExpiryDays})
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, c)
}

func (a *api) grantPoints(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req points.Grant
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	m, err := a.d.Points.Grant(r.Context(), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, m)
}

func (a *api) buyerPoints(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id := r.PathValue("id")
	if !ids.Valid(id) {
		writeError(w, r, identity.ErrBuyerNotFound)
		return
	}
	acc, err := a.d.Points.Account(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, acc)
}
