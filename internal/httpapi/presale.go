package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/presale"
)

// Who runs presales: operators set them up and watch the purchases, a
// compliance reviewer publishes (as for every activity), finance reads the
// purchases and refunds them.
var (
	presaleRoles      = []identity.Role{identity.Operator}
	presalePublish    = []identity.Role{identity.Reviewer}
	presaleCheckRoles = []identity.Role{identity.Operator, identity.Reviewer}
	presaleOrderRoles = []identity.Role{identity.Operator, identity.Finance}
	presaleRefund     = []identity.Role{identity.Finance}
)

// presaleRoutes registers the presale API. A presale is public to read
// (its steps are announced to everyone before anyone buys); buying and the
// balance need the buyer's session; the deposit and the balance are paid
// like any order (POST /api/v1/orders/{id}/payments).
func (a *api) presaleRoutes() {
	a.handle("GET /api/v1/presales", http.HandlerFunc(a.listPresales))
	a.handle("GET /api/v1/presales/{id}", http.HandlerFunc(a.getPresale))
	a.handle("POST /api/v1/presales/{id}/orders", a.buyer(a.idempotent(a.buyPresale)))
	a.handle("GET /api/v1/presale-orders", a.buyer(a.listMyPresaleOrders))
	a.handle("GET /api/v1/presale-orders/{id}", a.buyer(a.getMyPresaleOrder))
	a.handle("POST /api/v1/presale-orders/{id}/balance", a.buyer(a.idempotent(a.payPresaleBalance)))

	a.handle("POST /admin/api/v1/presales", a.admin(presaleRoles, a.createPresale))
	a.handle("GET /admin/api/v1/presales", a.admin(presaleRoles, a.adminListPresales))
	a.handle("GET /admin/api/v1/presales/{id}", a.admin(presaleRoles, a.presaleAction(a.d.Presales.Activity)))
	a.handle("PUT /admin/api/v1/presales/{id}", a.admin(presaleRoles, a.updatePresale))
	a.handle("GET /admin/api/v1/presales/{id}/checks", a.admin(presaleCheckRoles, a.presaleChecks))
	a.handle("POST /admin/api/v1/presales/{id}/publish", a.admin(presalePublish, a.presaleAction(a.d.Presales.Publish)))
	a.handle("POST /admin/api/v1/presales/{id}/end", a.admin(presaleRoles, a.presaleAction(a.d.Presales.End)))
	a.handle("GET /admin/api/v1/presale-orders", a.admin(presaleOrderRoles, a.adminListPresaleOrders))
	a.handle("GET /admin/api/v1/presale-orders/{id}", a.admin(presaleOrderRoles, a.adminGetPresaleOrder))
	a.handle("POST /admin/api/v1/presale-orders/{id}/refund", a.admin(presaleRefund, a.adminIdempotent(a.refundPresaleOrder)))
}

// presaleRequest is the body that creates or replaces a draft. The optional
// numbers are pointers: absent takes the default, 0 is refused.
type presaleRequest struct {
	Title           string               `json:"title"`
	Rules           string               `json:"rules"`
	ShareNotice     string               `json:"share_notice"`
	Mode            string               `json:"mode"`
	Basis           string               `json:"basis"`
	StartsAt        string               `json:"starts_at"`
	EndsAt          string               `json:"ends_at"`
	BalanceStartsAt *string              `json:"balance_starts_at"`
	BalanceEndsAt   *string              `json:"balance_ends_at"`
	ShipsBy         string               `json:"ships_by"`
	PerBuyerLimit   *int                 `json:"per_buyer_limit"`
	MaxDepth        *int                 `json:"max_depth"`
	Items           []presaleItemRequest `json:"items"`
}

type presaleItemRequest struct {
	SKUID   string               `json:"sku_id"`
	Quota   int                  `json:"quota"`
	Deposit money.Fen            `json:"deposit"`
	Steps   []presaleStepRequest `json:"steps"`
}

type presaleStepRequest struct {
	FromUnit int       `json:"from_unit"`
	FromTime *string   `json:"from_time"`
	Price    money.Fen `json:"price"`
}

// toInput parses the times, every bad one named; the presale rules judge
// the rest.
func (req presaleRequest) toInput() (presale.ActivityInput, error) {
	var l errs.List
	parse := func(field, s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			l.Add(field, "invalid_time", "%s must be an RFC 3339 time, e.g. 2026-11-22T08:00:00+08:00", field)
		}
		return t
	}
	optional := func(field string, s *string) *time.Time {
		if s == nil {
			return nil
		}
		t := parse(field, *s)
		return &t
	}
	in := presale.ActivityInput{
		Title: req.Title, Rules: req.Rules, ShareNotice: req.ShareNotice,
		Mode: presale.Mode(req.Mode), Basis: presale.Basis(req.Basis),
		StartsAt: parse("starts_at", req.StartsAt), EndsAt: parse("ends_at", req.EndsAt),
		BalanceStartsAt: optional("balance_starts_at", req.BalanceStartsAt),
		BalanceEndsAt:   optional("balance_ends_at", req.BalanceEndsAt),
		ShipsBy:         parse("ships_by", req.ShipsBy), PerBuyerLimit: req.PerBuyerLimit, MaxDepth: req.MaxDepth,
	}
	for i, it := range req.Items {
		item := presale.ItemInput{SKUID: it.SKUID, Quota: it.Quota, Deposit: it.Deposit}
		for j, st := range it.Steps {
			item.Steps = append(item.Steps, presale.Step{FromUnit: st.FromUnit, Price: st.Price,
				FromTime: optional(fmt.Sprintf("items[%d].steps[%d].from_time", i, j), st.FromTime)})
		}
		in.Items = append(in.Items, item)
	}
	return in, l.Err()
}

type presaleViewPage struct {
	Items      []*presale.View `json:"items"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

// presalePathID is the {id} of the path; a malformed one names nothing.
func presalePathID(r *http.Request, notFound error) (string, error) {
	id := r.PathValue("id")
	if !ids.Valid(id) {
		return "", notFound
	}
	return id, nil
}

func (a *api) listPresales(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "cursor", "limit")
	f := presale.ActivityFilter{Status: presale.Published, Cursor: q.cursor(), Limit: q.limit()}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	a.writePresalePage(w, r, f, a.d.Presales.PublicView)
}

func (a *api) adminListPresales(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	q := newQuery(r, "status", "cursor", "limit")
	f := presale.ActivityFilter{Status: presale.ActivityStatus(q.oneOf("status", bargainEnum(presale.ActivityStatuses)...)),
		Cursor: q.cursor(), Limit: q.limit()}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	a.writePresalePage(w, r, f, a.d.Presales.OperatorView)
}

// writePresalePage answers a page of presales, each as view shows it.
func (a *api) writePresalePage(w http.ResponseWriter, r *http.Request, f presale.ActivityFilter,
	view func(ctx context.Context, act *presale.Activity) (*presale.View, error)) {
	page, err := a.d.Presales.Activities(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := presaleViewPage{Items: make([]*presale.View, 0, len(page.Activities)), NextCursor: page.NextCursor}
	for i := range page.Activities {
		v, err := view(r.Context(), &page.Activities[i])
		if err != nil {
			writeError(w, r, err)
			return
		}
		out.Items = append(out.Items, v)
	}
	writeJSON(w, r, http.StatusOK, out)
}

func (a *api) getPresale(w http.ResponseWriter, r *http.Request) {
	id, err := presalePathID(r, presale.ErrActivityNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	v, err := a.d.Presales.PublicActivity(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, v)
}

// presaleBuyRequest is a purchase: which SKU, how many, sent where. The
// price is the presale's; the body cannot name one.
type presaleBuyRequest struct {
	SKUID     string `json:"sku_id"`
	Qty       int    `json:"qty"`
	AddressID string `json:"address_id"`
	Remark    string `json:"remark"`
}

type presaleBought struct {
	PresaleOrder *presale.Order `json:"presale_order"`
	Order        *order.Order   `json:"order"`
}

func (a *api) buyPresale(w http.ResponseWriter, r *http.Request, buyerID string) {
	id, err := presalePathID(r, presale.ErrActivityNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req presaleBuyRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	po, o, err := a.d.Presales.Buy(r.Context(), presale.BuyInput{BuyerID: buyerID, ActivityID: id, SKUID: req.SKUID,
		Qty: req.Qty, AddressID: req.AddressID, Remark: req.Remark})
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.metrics.ordersPlaced.Inc()
	writeJSON(w, r, http.StatusCreated, presaleBought{PresaleOrder: po, Order: orderView(o)})
}

func (a *api) listMyPresaleOrders(w http.ResponseWriter, r *http.Request, buyerID string) {
	q := newQuery(r, "status", "cursor", "limit")
	f := presale.OrderFilter{BuyerID: buyerID, Status: presale.OrderStatus(q.oneOf("status", bargainEnum(presale.OrderStatuses)...)),
		Cursor: q.cursor(), Limit: q.limit()}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Presales.PresaleOrders(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, page)
}

func (a *api) getMyPresaleOrder(w http.ResponseWriter, r *http.Request, buyerID string) {
	id, err := presalePathID(r, presale.ErrOrderNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	po, err := a.d.Presales.Order(r.Context(), buyerID, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, po)
}

// presaleBalanceRequest is the body of the balance: where the goods go, if
// not where the deposit named.
type presaleBalanceRequest struct {
	AddressID string `json:"address_id"`
}

func (a *api) payPresaleBalance(w http.ResponseWriter, r *http.Request, buyerID string) {
	id, err := presalePathID(r, presale.ErrOrderNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req presaleBalanceRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	o, err := a.d.Presales.PayBalance(r.Context(), buyerID, id, req.AddressID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, orderView(o))
}

func (a *api) createPresale(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req presaleRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	in, err := req.toInput()
	if err != nil {
		writeError(w, r, err)
		return
	}
	act, err := a.d.Presales.CreateActivity(r.Context(), in)
	a.writePresale(w, r, http.StatusCreated, act, err)
}

func (a *api) updatePresale(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := presalePathID(r, presale.ErrActivityNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req presaleRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	in, err := req.toInput()
	if err != nil {
		writeError(w, r, err)
		return
	}
	act, err := a.d.Presales.UpdateActivity(r.Context(), id, in)
	a.writePresale(w, r, http.StatusOK, act, err)
}

// writePresale answers with a presale as operators see it, or the error.
func (a *api) writePresale(w http.ResponseWriter, r *http.Request, status int, act *presale.Activity, err error) {
	if err != nil {
		writeError(w, r, err)
		return
	}
	v, err := a.d.Presales.OperatorView(r.Context(), act)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, status, v)
}

// presaleAction runs one service method on the presale of the path.
func (a *api) presaleAction(do func(ctx context.Context, id string) (*presale.Activity, error)) adminHandler {
	return func(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
		id, err := presalePathID(r, presale.ErrActivityNotFound)
		if err != nil {
			writeError(w, r, err)
			return
		}
		act, err := do(r.Context(), id)
		a.writePresale(w, r, http.StatusOK, act, err)
	}
}

func (a *api) presaleChecks(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := presalePathID(r, presale.ErrActivityNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	rep, err := a.d.Presales.Checks(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, rep)
}

func (a *api) adminListPresaleOrders(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	q := newQuery(r, "activity_id", "buyer_id", "status", "cursor", "limit")
	f := presale.OrderFilter{ActivityID: q.id("activity_id"), BuyerID: q.id("buyer_id"),
		Status: presale.OrderStatus(q.oneOf("status", bargainEnum(presale.OrderStatuses)...)), Cursor: q.cursor(), Limit: q.limit()}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Presales.PresaleOrders(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, page)
}

func (a *api) adminGetPresaleOrder(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := presalePathID(r, presale.ErrOrderNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	po, err := a.d.Presales.PresaleOrder(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, po)
}

// presaleRefundRequest is finance refunding a purchase in full: why.
type presaleRefundRequest struct {
	Reason string `json:"reason"`
}

func (a *api) refundPresaleOrder(w http.ResponseWriter, r *http.Request, op identity.Principal) {
	id, err := presalePathID(r, presale.ErrOrderNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req presaleRefundRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	var l errs.List
	reason := checkReason(&l, req.Reason)
	if err := l.Err(); err != nil {
		writeError(w, r, err)
		return
	}
	in := presale.RefundInput{PresaleOrderID: id, Reason: reason, Operator: op.ID}
	if k := r.Header.Get("Idempotency-Key"); k != "" {
		in.Key = refundKey(op.ID, k)
	}
	rf, err := a.d.Presales.Refund(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, refundView(rf))
}
