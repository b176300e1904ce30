package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// refundRoles: refunds and their abnormal cases are finance's.
var refundRoles = []identity.Role{identity.Finance}

// refundRequest is the body of POST /admin/api/v1/orders/{id}/refunds:
// lines and units, or all that is left. Like an order, it names no amount:
// the refund service computes it from what the lines really paid.
type refundRequest struct {
	Lines  []lineQtyRequest `json:"lines"`
	All    bool             `json:"all"`
	Return bool             `json:"return"`
	Reason string           `json:"reason"`
}

func (req refundRequest) toInput(orderID string, op identity.Principal, idemKey string) (refund.RefundInput, error) {
	var l errs.List
	in := refund.RefundInput{OrderID: orderID, All: req.All, Return: req.Return, Operator: op.ID}
	switch {
	case req.All && req.Lines != nil:
		l.Add("lines", "conflicting_fields", "send lines, or all: true for everything left, not both")
	case !req.All && len(req.Lines) == 0:
		l.Add("lines", "required", "name the lines and units to refund, or send all: true")
	}
	in.Lines = toLineQtys(&l, "lines", req.Lines)
	if req.All {
		in.Lines = nil
	}
	in.Reason = checkReason(&l, req.Reason)
	if idemKey != "" {
		in.Key = refundKey(op.ID, idemKey)
	}
	return in, l.Err()
}

// refundKey makes the refund itself unique per operator and Idempotency-Key,
// beneath the replay of the HTTP response: if the first request's answer
// was lost to a server error (which frees the key for a retry), the retry
// still finds the refund the first one started instead of starting another.
// Hashed, since an operator id and a 255-character key exceed what the
// refund service keeps.
func refundKey(operatorID, key string) string {
	sum := sha256.Sum256([]byte(operatorID + "\n" + key))
	return hex.EncodeToString(sum[:])
}

func (a *api) createRefund(w http.ResponseWriter, r *http.Request, op identity.Principal) {
	id, err := orderID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req refundRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	in, err := req.toInput(id, op, r.Header.Get("Idempotency-Key"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	rf, err := a.d.Refunds.Refund(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, refundView(rf))
}

var refundStates = []string{
	string(refund.Pending), string(refund.Processing), string(refund.Succeeded), string(refund.Closed), string(refund.Abnormal),
}

func refundFilter(r *http.Request, known ...string) (refund.RefundFilter, *query) {
	q := newQuery(r, append(known, "state", "cursor", "limit")...)
	return refund.RefundFilter{State: refund.State(q.oneOf("state", refundStates...)), Cursor: q.cursor(), Limit: q.limit()}, q
}

// listRefunds lists every refund, most often the abnormal ones waiting for
// finance (?state=abnormal).
func (a *api) listRefunds(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	f, q := refundFilter(r, "order_id")
	f.OrderID = q.id("order_id")
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	a.writeRefunds(w, r, f)
}

// listOrderRefunds lists one order's refunds. An order that does not exist
// is 404, not an empty list, so a mistyped id is not read as "never
// refunded".
func (a *api) listOrderRefunds(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := orderID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	f, q := refundFilter(r)
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	if _, err := a.d.Orders.Order(r.Context(), id); err != nil {
		writeError(w, r, err)
		return
	}
	f.OrderID = id
	a.writeRefunds(w, r, f)
}

func (a *api) writeRefunds(w http.ResponseWriter, r *http.Request, f refund.RefundFilter) {
	page, err := a.d.Refunds.Refunds(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if page.Refunds == nil {
		page.Refunds = []refund.Refund{}
	}
	for i := range page.Refunds {
		refundView(&page.Refunds[i])
	}
	writeJSON(w, r, http.StatusOK, page)
}

func (a *api) getRefund(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	rf, err := a.d.Refunds.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, refundView(rf))
}

// resolveRequest is finance's decision on an abnormal refund.
type resolveRequest struct {
	Resolution refund.Resolution `json:"resolution"`
	Note       string            `json:"note"`
}

func (a *api) resolveRefund(w http.ResponseWriter, r *http.Request, op identity.Principal) {
	var req resolveRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	// The refund service checks the resolution and the note together and
	// reports both at once.
	rf, err := a.d.Refunds.ResolveAbnormal(r.Context(), r.PathValue("id"), req.Resolution, op.ID, req.Note)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, refundView(rf))
}

// refundView gives a refund an array of lines where the contract promises
// one (a refund of shipping alone has none).
func refundView(rf *refund.Refund) *refund.Refund {
	if rf.Lines == nil {
		rf.Lines = []refund.Line{}
	}
	return rf
}
