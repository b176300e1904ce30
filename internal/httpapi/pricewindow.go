package httpapi

import (
	"net/http"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricewindow"
	"github.com/siyu-commerce/siyu/internal/supply"
)

// Operators set limited-time prices, as they set the catalog's prices, and
// ask the planning aid, as they adjust stock.
var (
	priceWindowRoles = []identity.Role{identity.Operator}
	supplyRoles      = []identity.Role{identity.Operator}
)

// priceWindowRoutes registers the limited-time price API (package
// pricewindow) and the supply planning aid (package supply). Buyers see
// limited-time prices in the product views (catalog.go), not here.
func (a *api) priceWindowRoutes() {
	a.handle("POST /admin/api/v1/price-windows", a.admin(priceWindowRoles, a.createPriceWindow))
	a.handle("GET /admin/api/v1/price-windows", a.admin(priceWindowRoles, a.listPriceWindows))
	a.handle("GET /admin/api/v1/price-windows/{id}", a.admin(priceWindowRoles, a.getPriceWindow))
	a.handle("POST /admin/api/v1/price-windows/{id}/end", a.admin(priceWindowRoles, a.endPriceWindow))
	a.handle("DELETE /admin/api/v1/price-windows/{id}", a.admin(priceWindowRoles, a.deletePriceWindow))

	a.handle("POST /admin/api/v1/supply/plan", a.admin(supplyRoles, a.supplyPlan))
}

// priceWindowRequest is the body that creates a window. Times are RFC 3339.
type priceWindowRequest struct {
	SKUID      string    `json:"sku_id"`
	Price      money.Fen `json:"price"`
	StartsAt   string    `json:"starts_at"`
	EndsAt     string    `json:"ends_at"`
	AnnounceAt string    `json:"announce_at"`
}

// toNewWindow parses the times and merges what the window's own rules find,
// so one request learns every fault; a time that does not parse is reported
// as such, not again as missing.
func (req priceWindowRequest) toNewWindow(now time.Time) (pricewindow.NewWindow, error) {
	var l errs.List
	bad := map[string]bool{}
	parse := func(field, s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			l.Add(field, "invalid_time", "%s must be an RFC 3339 time, e.g. 2026-11-22T08:00:00+08:00", field)
			bad[field] = true
			return time.Time{}
		}
		return t.UTC()
	}
	in := pricewindow.NewWindow{
		SKUID: req.SKUID, Price: req.Price,
		StartsAt: parse("starts_at", req.StartsAt), EndsAt: parse("ends_at", req.EndsAt),
	}
	if at := parse("announce_at", req.AnnounceAt); !at.IsZero() {
		in.AnnounceAt = &at
	}
	for _, e := range in.Faults(now) {
		if !bad[e.Field] {
			l = append(l, e)
		}
	}
	return in, l.Err()
}

// priceWindowID is the {id} of the path; a malformed one names nothing.
func priceWindowID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !ids.Valid(id) {
		return "", pricewindow.ErrNotFound
	}
	return id, nil
}

func (a *api) createPriceWindow(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req priceWindowRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	in, err := req.toNewWindow(a.clock.Now())
	if err != nil {
		writeError(w, r, err)
		return
	}
	pw, err := a.d.PriceWindows.Create(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, pw)
}

func (a *api) listPriceWindows(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	q := newQuery(r, "sku_id", "product_id", "cursor", "limit")
	f := pricewindow.Filter{SKUID: q.id("sku_id"), ProductID: q.id("product_id"), Cursor: q.cursor(), Limit: q.limit()}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.PriceWindows.List(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, page)
}

func (a *api) getPriceWindow(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := priceWindowID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	pw, err := a.d.PriceWindows.Window(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, pw)
}

func (a *api) endPriceWindow(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := priceWindowID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	pw, err := a.d.PriceWindows.End(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, pw)
}

func (a *api) deletePriceWindow(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := priceWindowID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := a.d.PriceWindows.Delete(r.Context(), id); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// supplyPlanRequest asks for the split of an expected demand, optionally
// for a SKU whose stock covers part of the first batch.
type supplyPlanRequest struct {
	ExpectedUnits int64  `json:"expected_units"`
	SKUID         string `json:"sku_id"`
}

func (a *api) supplyPlan(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req supplyPlanRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	p, err := a.d.Supply.Plan(r.Context(), supply.PlanInput{ExpectedUnits: req.ExpectedUnits, SKUID: req.SKUID})
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, p)
}
