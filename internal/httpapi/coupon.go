package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/siyu-commerce/siyu/internal/coupon"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// couponRoles run coupons: operators design, end and issue them.
var couponRoles = []identity.Role{identity.Operator}

// couponRoutes registers the coupon API. The claimable templates are
// public (the same for everyone who looks); claiming, a buyer's coupons and
// the suggestion for their cart need the buyer's session.
func (a *api) couponRoutes() {
	a.handle("GET /api/v1/coupon-templates", http.HandlerFunc(a.listClaimableCoupons))
	a.handle("POST /api/v1/coupon-templates/{id}/claim", a.buyer(a.idempotent(a.claimCoupon)))
	a.handle("GET /api/v1/coupons", a.buyer(a.listMyCoupons))
	a.handle("GET /api/v1/cart/coupons", a.buyer(a.cartCoupons))

	a.handle("POST /admin/api/v1/coupon-templates", a.admin(couponRoles, a.createCouponTemplate))
	a.handle("GET /admin/api/v1/coupon-templates", a.admin(couponRoles, a.adminListCouponTemplates))
	a.handle("GET /admin/api/v1/coupon-templates/{id}", a.admin(couponRoles, a.adminGetCouponTemplate))
	a.handle("POST /admin/api/v1/coupon-templates/{id}/end", a.admin(couponRoles, a.endCouponTemplate))
	a.handle("POST /admin/api/v1/coupon-templates/{id}/issue", a.admin(couponRoles, a.issueCoupons))
}

// checkCouponIDs checks the coupon_ids of an order: well-formed, distinct,
// at most a discount and a free-shipping coupon.
func checkCouponIDs(l *errs.List, in []string) []string {
	if in == nil {
		return nil
	}
	if len(in) == 0 || len(in) > 2 {
		l.Add("coupon_ids", "coupon_stacking", "name one or two coupons (a discount and a free-shipping coupon), or leave coupon_ids out")
		return nil
	}
	for i, id := range in {
		f := "coupon_ids[" + strconv.Itoa(i) + "]"
		switch {
		case !ids.Valid(id):
			l.Add(f, "invalid_id", "must be the id of one of your coupons")
		case slices.Index(in, id) != i:
			l.Add(f, "duplicate_coupon", "each coupon is named once")
		}
	}
	return in
}

// couponTemplateRequest is the body that creates a template.
type couponTemplateRequest struct {
	Name          string    `json:"name"`
	Kind          string    `json:"kind"`
	Off           money.Fen `json:"off"`
	RateBP        money.BP  `json:"rate_bp"`
	Cap           money.Fen `json:"cap"`
	MinSpend      money.Fen `json:"min_spend"`
	Scope         string    `json:"scope"`
	ScopeIDs      []string  `json:"scope_ids"`
	ValidFrom     string    `json:"valid_from"`
	ValidUntil    string    `json:"valid_until"`
	ValidDays     int       `json:"valid_days"`
	PerBuyerLimit int       `json:"per_buyer_limit"`
	Quantity      int64     `json:"quantity"`
	Budget        money.Fen `json:"budget"`
	IssueMode     string    `json:"issue_mode"`
}

// toNewTemplate parses the times; the coupon rules judge the rest.
func (req couponTemplateRequest) toNewTemplate() (coupon.NewTemplate, error) {
	var l errs.List
	parse := func(field, s string) *time.Time {
		if s == "" {
			return nil
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			l.Add(field, "invalid_time", "%s must be an RFC 3339 time, e.g. 2026-11-22T08:00:00+08:00", field)
			return nil
		}
		t = t.UTC()
		return &t
	}
	in := coupon.NewTemplate{
		Terms: coupon.Terms{Name: req.Name, Kind: coupon.Kind(req.Kind), Off: req.Off, Rate: req.RateBP, Cap: req.Cap,
			MinSpend: req.MinSpend, Scope: coupon.Scope(req.Scope), ScopeIDs: req.ScopeIDs},
		ValidFrom: parse("valid_from", req.ValidFrom), ValidUntil: parse("valid_until", req.ValidUntil),
		ValidDays: req.ValidDays, PerBuyer: req.PerBuyerLimit, Quantity: req.Quantity, Budget: req.Budget,
		Mode: coupon.Mode(req.IssueMode),
	}
	return in, l.Err()
}

// couponPathID is the {id} of the path; a malformed one names nothing.
func couponPathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !ids.Valid(id) {
		return "", coupon.ErrTemplateNotFound
	}
	return id, nil
}

func (a *api) listClaimableCoupons(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "cursor", "limit")
	cur, n := q.cursor(), q.limit()
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Coupons.Claimable(r.Context(), cur, n)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, page)
}

func (a *api) claimCoupon(w http.ResponseWriter, r *http.Request, buyerID string) {
	id, err := couponPathID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	c, err := a.d.Coupons.Claim(r.Context(), buyerID, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, c)
}

func (a *api) listMyCoupons(w http.ResponseWriter, r *http.Request, buyerID string) {
	q := newQuery(r, "state", "cursor", "limit")
	f := coupon.CouponFilter{BuyerID: buyerID,
		State:  coupon.State(q.oneOf("state", string(coupon.Available), string(coupon.Used), string(coupon.Expired))),
		Cursor: q.cursor(), Limit: q.limit()}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Coupons.Coupons(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, page)
}

func (a *api) cartCoupons(w http.ResponseWriter, r *http.Request, buyerID string) {
	if err := newQuery(r).err(); err != nil {
		writeError(w, r, err)
		return
	}
	s, err := a.d.Coupons.Suggest(r.Context(), buyerID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, s)
}

func (a *api) createCouponTemplate(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req couponTemplateRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	in, err := req.toNewTemplate()
	if err != nil {
		writeError(w, r, err)
		return
	}
	t, err := a.d.Coupons.CreateTemplate(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, t)
}

func (a *api) adminListCouponTemplates(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	q := newQuery(r, "status", "issue_mode", "cursor", "limit")
	f := coupon.TemplateFilter{
		Status: coupon.Status(q.oneOf("status", string(coupon.Active), string(coupon.Ended))),
		Mode:   coupon.Mode(q.oneOf("issue_mode", string(coupon.Claim), string(coupon.NewUser), string(coupon.Recall))),
		Cursor: q.cursor(), Limit: q.limit(),
	}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Coupons.Templates(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, page)
}

func (a *api) adminGetCouponTemplate(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := couponPathID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	t, err := a.d.Coupons.Template(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, t)
}

func (a *api) endCouponTemplate(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := couponPathID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	t, err := a.d.Coupons.EndTemplate(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, t)
}

// issueRequest names the buyers a recall template's coupons go to.
type issueRequest struct {
	BuyerIDs []string `json:"buyer_ids"`
}

func (a *api) issueCoupons(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := couponPathID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req issueRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	res, err := a.d.Coupons.Issue(r.Context(), id, req.BuyerIDs)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, res)
}
