package httpapi

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/order"
)

// shipRequest is the body of POST /admin/api/v1/orders/{id}/ship.
type shipRequest struct {
	Carrier    string `json:"carrier"`
	TrackingNo string `json:"tracking_no"`
}

func (req shipRequest) toShipInput() (order.ShipInput, error) {
	var l errs.List
	in := order.ShipInput{Carrier: strings.TrimSpace(req.Carrier), TrackingNo: strings.TrimSpace(req.TrackingNo)}
	if in.Carrier == "" || utf8.RuneCountInString(in.Carrier) > 50 {
		l.Add("carrier", "invalid_carrier", "carrier is the carrier's name, 1 to 50 characters")
	}
	if !trackingNo(in.TrackingNo) {
		l.Add("tracking_no", "invalid_tracking_no", "tracking_no is 4 to 40 letters, digits or dashes")
	}
	return in, l.Err()
}

// trackingNo accepts what Chinese carriers print on a waybill: letters,
// digits and dashes.
func trackingNo(s string) bool {
	if len(s) < 4 || len(s) > 40 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-') {
			return false
		}
	}
	return true
}

func (a *api) adminListOrders(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	f, err := orderFilter(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.ordersPage(r, f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	for i := range page.Orders {
		page.Orders[i].ShipTo = maskShipTo(page.Orders[i].ShipTo)
	}
	writeJSON(w, r, http.StatusOK, page)
}

func (a *api) adminGetOrder(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := orderID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	o, err := a.d.Orders.Order(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.writeAdminOrder(w, r, o)
}

func (a *api) shipOrder(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := orderID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req shipRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	in, err := req.toShipInput()
	if err != nil {
		writeError(w, r, err)
		return
	}
	o, err := a.d.Orders.Ship(r.Context(), id, in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.writeAdminOrder(w, r, o)
}

func (a *api) closeOrder(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := orderID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	o, err := a.d.Orders.Close(r.Context(), id, "closed by an operator")
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.writeAdminOrder(w, r, o)
}

func (a *api) deliverOrder(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := orderID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	o, err := a.d.Orders.MarkDelivered(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.writeAdminOrder(w, r, o)
}

// writeAdminOrder answers with an order as an operator may see it: the
// buyer's name, phone and address masked (DOMAIN.md, Compliance lines).
func (a *api) writeAdminOrder(w http.ResponseWriter, r *http.Request, o *order.Order) {
	masked := *orderView(o)
	masked.ShipTo = maskShipTo(o.ShipTo)
	writeJSON(w, r, http.StatusOK, &masked)
}
