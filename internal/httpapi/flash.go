package httpapi

import (
	"net/http"
	"regexp"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// flashRoles run flash sales.
var flashRoles = []identity.Role{identity.Operator}

// flashRoutes registers the flash sale API. The buy button and its
// calibration twin (noop) are the hot path: their tokens resolve through
// the short-lived cache, and they take no Idempotency-Key (the body's
// request_id is the press's identity, kept by the hot path itself, with no
// table read).
func (a *api) flashRoutes() {
	a.handle("GET /api/v1/flash/sessions", http.HandlerFunc(a.listFlashSessions))
	a.handle("GET /api/v1/flash/sessions/{id}", http.HandlerFunc(a.getFlashSession))
	a.handle("POST /api/v1/flash/sessions/{id}/buy", a.hotBuyer(a.flashBuy))
	a.handle("POST /api/v1/flash/noop", a.hotBuyer(a.flashNoop))
	a.handle("GET /api/v1/flash/sessions/{id}/reservations", a.buyer(a.listMyFlashReservations))
	a.handle("GET /api/v1/flash/reservations/{id}", a.buyer(a.getFlashReservation))

	a.handle("POST /admin/api/v1/flash/sessions", a.admin(flashRoles, a.createFlashSession))
	a.handle("GET /admin/api/v1/flash/sessions", a.admin(flashRoles, a.adminListFlashSessions))
	a.handle("GET /admin/api/v1/flash/sessions/{id}", a.admin(flashRoles, a.adminGetFlashSession))
	a.handle("POST /admin/api/v1/flash/sessions/{id}/cancel", a.admin(flashRoles, a.cancelFlashSession))
}

// flashBuyRequest is a press of the buy button.
type flashBuyRequest struct {
	SKUID     string `json:"sku_id"`
	Qty       int    `json:"qty"`
	AddressID string `json:"address_id"`
	RequestID string `json:"request_id"`
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

func (req flashBuyRequest) check() error {
	var l errs.List
	if !ids.Valid(req.SKUID) {
		l.Add("sku_id", "invalid_id", "must be a SKU id")
	}
	if req.Qty < 1 || req.Qty > flashsale.MaxLimit {
		l.Add("qty", "out_of_range", "between 1 and %d", flashsale.MaxLimit)
	}
	if !ids.Valid(req.AddressID) {
		l.Add("address_id", "invalid_id", "must be the id of one of your addresses")
	}
	if !requestIDPattern.MatchString(req.RequestID) {
		l.Add("request_id", "invalid_request_id", "8 to 64 letters, digits, - or _, new for each press and the same on a retry")
	}
	return l.Err()
}

// flashBuyResponse is the decision: outcome won, sold_out or limit_reached.
type flashBuyResponse struct {
	Outcome string `json:"outcome"`
	flashsale.BuyResult
}

// flashPathID is the {id} of the path; a malformed one names nothing.
func flashPathID(r *http.Request, notFound error) (string, error) {
	id := r.PathValue("id")
	if !ids.Valid(id) {
		return "", notFound
	}
	return id, nil
}

func (a *api) flashBuy(w http.ResponseWriter, r *http.Request, buyerID string) {
	id, err := flashPathID(r, flashsale.ErrSessionNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req flashBuyRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if err := req.check(); err != nil {
		writeError(w, r, err)
		return
	}
	res, err := a.d.Flash.Buy(r.Context(), flashsale.BuyInput{SessionID: id, SKUID: req.SKUID, BuyerID: buyerID,
		Qty: req.Qty, AddressID: req.AddressID, RequestID: req.RequestID})
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, flashBuyResponse{Outcome: res.Outcome.String(), BuyResult: res})
}

// flashNoop answers as the buy button would, deciding nothing: the same
// authentication, body and checks, no engine. A load test measures it as
// the ceiling the buy button is compared with (siyu rush).
func (a *api) flashNoop(w http.ResponseWriter, r *http.Request, _ string) {
	var req flashBuyRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if err := req.check(); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]bool{"ok": true})
}

// flashSessionView is a session as buyers see it.
type flashSessionView struct {
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	Phase      flashsale.Phase     `json:"phase"`
	WarmupAt   *time.Time          `json:"warmup_at,omitempty"`
	StartsAt   time.Time           `json:"starts_at"`
	EndsAt     time.Time           `json:"ends_at"`
	PayMinutes int                 `json:"pay_minutes"`
	SKUs       []flashSKUBuyerView `json:"skus"`
}

type flashSKUBuyerView struct {
	SKUID string    `json:"sku_id"`
	Price money.Fen `json:"price"`
	Quota int       `json:"quota"`
	Limit int       `json:"limit"`
}

func (a *api) flashView(s *flashsale.Session) flashSessionView {
	v := flashSessionView{ID: s.ID, Name: s.Name, Phase: s.PhaseAt(a.clock.Now()), WarmupAt: s.WarmupAt,
		StartsAt: s.StartsAt, EndsAt: s.EndsAt, PayMinutes: int(s.PayWindow / time.Minute), SKUs: []flashSKUBuyerView{}}
	for _, k := range s.SKUs {
		v.SKUs = append(v.SKUs, flashSKUBuyerView{SKUID: k.SKUID, Price: k.Price, Quota: k.Quota, Limit: k.Limit})
	}
	return v
}

// flashAdminView is a session as operators see it: with its status and the
// units written as orders.
type flashAdminView struct {
	flashSessionView
	Status    flashsale.Status       `json:"status"`
	SKUs      []flashsale.SessionSKU `json:"skus"`
	CreatedAt time.Time              `json:"created_at"`
	UpdatedAt time.Time              `json:"updated_at"`
}

func (a *api) flashAdminView(s *flashsale.Session) flashAdminView {
	return flashAdminView{flashSessionView: a.flashView(s), Status: s.Status, SKUs: s.SKUs, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

func (a *api) listFlashSessions(w http.ResponseWriter, r *http.Request) {
	if err := newQuery(r).err(); err != nil {
		writeError(w, r, err)
		return
	}
	all, err := a.d.Flash.Showing(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]flashSessionView, 0, len(all))
	for i := range all {
		out = append(out, a.flashView(&all[i]))
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"items": out})
}

func (a *api) getFlashSession(w http.ResponseWriter, r *http.Request) {
	id, err := flashPathID(r, flashsale.ErrSessionNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s, err := a.d.Flash.Shown(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, a.flashView(s))
}

func (a *api) listMyFlashReservations(w http.ResponseWriter, r *http.Request, buyerID string) {
	id, err := flashPathID(r, flashsale.ErrSessionNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	all, err := a.d.Flash.Reservations(r.Context(), buyerID, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if all == nil {
		all = []flashsale.Reservation{}
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"items": all})
}

func (a *api) getFlashReservation(w http.ResponseWriter, r *http.Request, buyerID string) {
	id := r.PathValue("id")
	if len(id) != 24 {
		writeError(w, r, flashsale.ErrReservationNotFound)
		return
	}
	res, err := a.d.Flash.Reservation(r.Context(), buyerID, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, res)
}

// flashSessionRequest is the body that creates a session.
type flashSessionRequest struct {
	Name       string `json:"name"`
	WarmupAt   string `json:"warmup_at"`
	StartsAt   string `json:"starts_at"`
	EndsAt     string `json:"ends_at"`
	PayMinutes int    `json:"pay_minutes"`
	SKUs       []struct {
		SKUID string    `json:"sku_id"`
		Price money.Fen `json:"price"`
		Quota int       `json:"quota"`
		Limit int       `json:"limit"`
	} `json:"skus"`
}

func (req flashSessionRequest) toNewSession() (flashsale.NewSession, error) {
	var l errs.List
	parse := func(field, s string, required bool) time.Time {
		if s == "" {
			if required {
				l.Add(field, "invalid_time", "%s is required: an RFC 3339 time", field)
			}
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			l.Add(field, "invalid_time", "%s must be an RFC 3339 time, e.g. 2026-11-22T20:00:00+08:00", field)
		}
		return t.UTC()
	}
	in := flashsale.NewSession{Name: req.Name, WarmupAt: parse("warmup_at", req.WarmupAt, false),
		StartsAt: parse("starts_at", req.StartsAt, true), EndsAt: parse("ends_at", req.EndsAt, true), PayMinutes: req.PayMinutes}
	for _, k := range req.SKUs {
		in.SKUs = append(in.SKUs, flashsale.NewSessionSKU{SKUID: k.SKUID, Price: k.Price, Quota: k.Quota, Limit: k.Limit})
	}
	return in, l.Err()
}

func (a *api) createFlashSession(w http.ResponseWriter, r *http.Request, op identity.Principal) {
	var req flashSessionRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	in, err := req.toNewSession()
	if err != nil {
		writeError(w, r, err)
		return
	}
	s, err := a.d.Flash.CreateSession(r.Context(), op.ID, in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, a.flashAdminView(s))
}

func (a *api) adminListFlashSessions(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	q := newQuery(r, "status", "limit")
	status := flashsale.Status(q.text("status", 20))
	n := q.limit()
	switch status {
	case "", flashsale.Scheduled, flashsale.Cancelled, flashsale.Closed:
	default:
		q.errs.Add("status", "invalid_parameter", "status is scheduled, cancelled or closed")
	}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	f := flashsale.SessionFilter{Limit: n}
	if status != "" {
		f.Statuses = []flashsale.Status{status}
	}
	all, err := a.d.Flash.Sessions(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]flashAdminView, 0, len(all))
	for i := range all {
		out = append(out, a.flashAdminView(&all[i]))
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"items": out})
}

func (a *api) adminGetFlashSession(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := flashPathID(r, flashsale.ErrSessionNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s, err := a.d.Flash.Session(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, a.flashAdminView(s))
}

func (a *api) cancelFlashSession(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := flashPathID(r, flashsale.ErrSessionNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s, err := a.d.Flash.Cancel(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, a.flashAdminView(s))
}
