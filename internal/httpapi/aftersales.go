package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/cart"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// Who may do what with after-sales, besides the owner: operators decide
// them; finance reads them, since the refunds it watches come from them.
var (
	afterSaleReadRoles  = []identity.Role{identity.Operator, identity.Finance}
	afterSaleWriteRoles = []identity.Role{identity.Operator}
)

// lineQtyRequest names units of one order line, in an after-sale request
// and in finance's refund. It carries no amount: what a unit gives back is
// computed from what the line really paid.
type lineQtyRequest struct {
	OrderLineID string `json:"order_line_id"`
	Qty         int    `json:"qty"`
}

// toLineQtys checks the shape of the lines asked for: well-formed line ids,
// each once, a unit count a line can hold. Whether the lines are the
// order's and have the units left is the refund service's to judge.
func toLineQtys(l *errs.List, field string, in []lineQtyRequest) []refund.LineQty {
	if len(in) > cart.MaxLines {
		l.Add(field, "too_many_lines", "an order has at most %d lines", cart.MaxLines)
		return nil
	}
	out := make([]refund.LineQty, 0, len(in))
	seen := map[string]bool{}
	for i, ln := range in {
		f := field + "[" + strconv.Itoa(i) + "]"
		switch {
		case !ids.Valid(ln.OrderLineID):
			l.Add(f+".order_line_id", "invalid_id", "order_line_id must be the id of a line of the order")
		case seen[ln.OrderLineID]:
			l.Add(f+".order_line_id", "duplicate_line", "each line appears once; put all its units on one entry")
		}
		seen[ln.OrderLineID] = true
		checkQty(l, f+".qty", ln.Qty)
		out = append(out, refund.LineQty{OrderLineID: ln.OrderLineID, Qty: ln.Qty})
	}
	return out
}

// checkReason checks a required reason: shown to the buyer and the
// operator, kept for audit.
func checkReason(l *errs.List, s string) string {
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s):
		l.Add("reason", "invalid_text", "reason must be UTF-8 text")
	case n == 0:
		l.Add("reason", "required", "say why")
	case n > refund.MaxReason:
		l.Add("reason", "too_long", "reason is at most %d characters", refund.MaxReason)
	}
	return s
}

// afterSaleRequest is the body of POST /api/v1/orders/{id}/after-sales.
type afterSaleRequest struct {
	Kind   refund.Kind      `json:"kind"`
	Reason string           `json:"reason"`
	Lines  []lineQtyRequest `json:"lines"`
}

func (req afterSaleRequest) toInput(buyerID, orderID string) (refund.AfterSaleInput, error) {
	var l errs.List
	in := refund.AfterSaleInput{BuyerID: buyerID, OrderID: orderID, Kind: req.Kind}
	if req.Kind != refund.RefundOnly && req.Kind != refund.ReturnRefund {
		l.Add("kind", "invalid_kind", "kind is refund_only or return_refund")
	}
	in.Reason = checkReason(&l, req.Reason)
	if len(req.Lines) == 0 {
		l.Add("lines", "required", "name the lines and units the request is about")
	}
	in.Lines = toLineQtys(&l, "lines", req.Lines)
	return in, l.Err()
}

// noteRequest is the body of an operator's decision on an after-sale. The
// note is shown to the buyer; a rejection must have one.
type noteRequest struct {
	Note string `json:"note"`
}

var afterSaleStates = []string{
	string(refund.Requested), string(refund.Approved), string(refund.Rejected), string(refund.Withdrawn),
	string(refund.Refunding), string(refund.Refunded), string(refund.Failed),
}

func afterSaleFilter(r *http.Request) (refund.AfterSaleFilter, error) {
	q := newQuery(r, "state", "order_id", "cursor", "limit")
	f := refund.AfterSaleFilter{
		State: refund.AfterSaleState(q.oneOf("state", afterSaleStates...)), OrderID: q.id("order_id"),
		Cursor: q.cursor(), Limit: q.limit(),
	}
	return f, q.err()
}

// afterSalePage answers a listing with an array even when it is empty.
func afterSalePage(p refund.AfterSalePage, view func(*refund.AfterSale)) refund.AfterSalePage {
	if p.AfterSales == nil {
		p.AfterSales = []refund.AfterSale{}
	}
	for i := range p.AfterSales {
		view(&p.AfterSales[i])
	}
	return p
}

// buyerAfterSale is an after-sale as its buyer sees it: the operator's
// note, not which operator wrote it.
func buyerAfterSale(s *refund.AfterSale) { s.Operator = "" }

// adminAfterSale is an after-sale as operators see it: all of it, so a
// decision can be traced to who made it.
func adminAfterSale(*refund.AfterSale) {}

// The buyer's routes.

func (a *api) requestAfterSale(w http.ResponseWriter, r *http.Request, buyerID string) {
	id, err := orderID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req afterSaleRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	in, err := req.toInput(buyerID, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s, err := a.d.Refunds.RequestAfterSale(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	buyerAfterSale(s)
	writeJSON(w, r, http.StatusCreated, s)
}

func (a *api) listMyAfterSales(w http.ResponseWriter, r *http.Request, buyerID string) {
	f, err := afterSaleFilter(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	f.BuyerID = buyerID
	page, err := a.d.Refunds.AfterSales(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, afterSalePage(page, buyerAfterSale))
}

func (a *api) getMyAfterSale(w http.ResponseWriter, r *http.Request, buyerID string) {
	s, err := a.d.Refunds.GetAfterSale(r.Context(), buyerID, r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	buyerAfterSale(s)
	writeJSON(w, r, http.StatusOK, s)
}

func (a *api) withdrawAfterSale(w http.ResponseWriter, r *http.Request, buyerID string) {
	s, err := a.d.Refunds.WithdrawAfterSale(r.Context(), buyerID, r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	buyerAfterSale(s)
	writeJSON(w, r, http.StatusOK, s)
}

// The operator's routes.

func (a *api) adminListAfterSales(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	f, err := afterSaleFilter(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Refunds.AfterSales(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, afterSalePage(page, adminAfterSale))
}

func (a *api) adminGetAfterSale(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	s, err := a.d.Refunds.AfterSale(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, s)
}

// afterSaleDecision is an operator's decision with a note: approve, reject,
// or confirm a return arrived.
type afterSaleDecision func(ctx context.Context, id, operator, note string) (*refund.AfterSale, error)

func (a *api) decideAfterSale(decide afterSaleDecision) adminHandler {
	return func(w http.ResponseWriter, r *http.Request, op identity.Principal) {
		var req noteRequest
		if err := decode(r, &req); err != nil {
			writeError(w, r, err)
			return
		}
		s, err := decide(r.Context(), r.PathValue("id"), op.ID, req.Note)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, r, http.StatusOK, s)
	}
}
