package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/cart"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// maxOrderPoints bounds the points one order may ask to spend (a point is a
// yuan): far above any cap, it only keeps absurd numbers out.
const maxOrderPoints = 10_000_000

// maxRemark bounds a buyer's note to the shop.
const maxRemark = 200

// placeOrderRequest is the body of POST /api/v1/orders. It has no price,
// amount or total on purpose: the server prices every order, and the
// strict decoder refuses a body that tries to name one.
type placeOrderRequest struct {
	Lines     []lineRequest `json:"lines"`
	FromCart  bool          `json:"from_cart"`
	SKUIDs    []string      `json:"sku_ids"`
	AddressID string        `json:"address_id"`
	Remark    string        `json:"remark"`
	CouponIDs []string      `json:"coupon_ids"`
	// Points to spend (1 point = 1 yuan); the order's cap may spend fewer.
	Points int64 `json:"points"`
}

type lineRequest struct {
	SKUID string `json:"sku_id"`
	Qty   int    `json:"qty"`
}

// toPlaceInput checks the shape of an order request and reports every
// problem with it at once.
func (req placeOrderRequest) toPlaceInput(buyerID string) (order.PlaceInput, error) {
	var l errs.List
	in := order.PlaceInput{BuyerID: buyerID, FromCart: req.FromCart, AddressID: req.AddressID, Remark: req.Remark}
	switch {
	case req.FromCart && len(req.Lines) > 0:
		l.Add("lines", "conflicting_fields", "send lines for a direct buy or from_cart, not both")
	case !req.FromCart && len(req.Lines) == 0:
		l.Add("lines", "required", "send lines for a direct buy, or from_cart: true")
	case !req.FromCart && req.SKUIDs != nil:
		l.Add("sku_ids", "conflicting_fields", "sku_ids picks lines of the cart; it needs from_cart: true")
	}
	if len(req.Lines) > cart.MaxLines {
		l.Add("lines", "too_many_lines", "an order holds at most %d lines", cart.MaxLines)
	} else {
		seen := map[string]bool{}
		for i, ln := range req.Lines {
			f := "lines[" + strconv.Itoa(i) + "]"
			switch {
			case !ids.Valid(ln.SKUID):
				l.Add(f+".sku_id", "invalid_id", "sku_id must be the id of a SKU")
			case seen[ln.SKUID]:
				l.Add(f+".sku_id", "duplicate_sku", "each SKU appears once; put the whole quantity on one line")
			}
			seen[ln.SKUID] = true
			checkQty(&l, f+".qty", ln.Qty)
			in.Lines = append(in.Lines, order.LineInput{SKUID: ln.SKUID, Qty: ln.Qty})
		}
	}
	if req.SKUIDs != nil && req.FromCart {
		in.SKUIDs = checkSKUIDs(&l, "sku_ids", req.SKUIDs)
	}
	if !ids.Valid(req.AddressID) {
		l.Add("address_id", "invalid_id", "address_id must be the id of one of your addresses")
	}
	if !utf8.ValidString(req.Remark) || utf8.RuneCountInString(req.Remark) > maxRemark {
		l.Add("remark", "too_long", "remark is at most %d characters", maxRemark)
	}
	in.CouponIDs = checkCouponIDs(&l, req.CouponIDs)
	if req.Points < 0 || req.Points > maxOrderPoints {
		l.Add("points", "points_out_of_range", "points is 0 to %d", maxOrderPoints)
	}
	in.Points = req.Points
	return in, l.Err()
}

// checkSKUIDs checks a list of SKU ids: well-formed, distinct, not too many.
func checkSKUIDs(l *errs.List, field string, in []string) []string {
	if len(in) == 0 {
		l.Add(field, "required", "%s lists at least one SKU id; leave it out to mean all", field)
		return nil
	}
	if len(in) > cart.MaxLines {
		l.Add(field, "too_many_lines", "%s lists at most %d SKU ids", field, cart.MaxLines)
		return nil
	}
	seen := map[string]bool{}
	for i, id := range in {
		f := field + "[" + strconv.Itoa(i) + "]"
		switch {
		case !ids.Valid(id):
			l.Add(f, "invalid_id", "must be the id of a SKU")
		case seen[id]:
			l.Add(f, "duplicate_sku", "each SKU is listed once")
		}
		seen[id] = true
	}
	return in
}

func (a *api) placeOrder(w http.ResponseWriter, r *http.Request, buyerID string) {
	var req placeOrderRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	in, err := req.toPlaceInput(buyerID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	o, err := a.d.Orders.Place(r.Context(), in)
	if err != nil {
		if errs.Is(err, "out_of_stock") {
			a.metrics.reservationsFailed.Inc()
		}
		writeError(w, r, err)
		return
	}
	a.metrics.ordersPlaced.Inc()
	writeJSON(w, r, http.StatusCreated, orderView(o))
}

func (a *api) listMyOrders(w http.ResponseWriter, r *http.Request, buyerID string) {
	f, err := orderFilter(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	f.BuyerID = buyerID
	page, err := a.ordersPage(r, f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, page)
}

var orderStatuses = []string{
	string(order.PendingPayment), string(order.Paid), string(order.Shipped), string(order.Delivered),
	string(order.Completed), string(order.Cancelled), string(order.Closed), string(order.Refunded),
}

func orderFilter(r *http.Request) (order.ListFilter, error) {
	q := newQuery(r, "status", "cursor", "limit")
	f := order.ListFilter{Status: order.Status(q.oneOf("status", orderStatuses...)), Cursor: q.cursor(), Limit: q.limit()}
	return f, q.err()
}

// ordersPage lists orders; a buyer's listing always carries their id.
func (a *api) ordersPage(r *http.Request, f order.ListFilter) (order.Page, error) {
	page, err := a.d.Orders.List(r.Context(), f)
	if page.Orders == nil {
		page.Orders = []order.Order{}
	}
	for i := range page.Orders {
		orderView(&page.Orders[i])
	}
	return page, err
}

// orderID returns the {id} of the path; a malformed one names no order.
func orderID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !ids.Valid(id) {
		return "", order.ErrNotFound
	}
	return id, nil
}

func (a *api) getMyOrder(w http.ResponseWriter, r *http.Request, buyerID string) {
	a.buyerOrderAction(w, r, buyerID, a.d.Orders.Get)
}

func (a *api) cancelMyOrder(w http.ResponseWriter, r *http.Request, buyerID string) {
	a.buyerOrderAction(w, r, buyerID, a.d.Orders.Cancel)
}

func (a *api) confirmReceipt(w http.ResponseWriter, r *http.Request, buyerID string) {
	a.buyerOrderAction(w, r, buyerID, a.d.Orders.ConfirmReceipt)
}

// buyerOrderAction runs one of the order service's buyer methods, each of
// which checks the order is the buyer's.
func (a *api) buyerOrderAction(w http.ResponseWriter, r *http.Request, buyerID string,
	do func(ctx context.Context, buyerID, id string) (*order.Order, error)) {
	id, err := orderID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	o, err := do(r.Context(), buyerID, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, orderView(o))
}

// orderView fills the nil slices of an order so its JSON has arrays where
// the contract promises them: a line no pricing step touched has no
// adjustments, which is [] to a client, not null.
func orderView(o *order.Order) *order.Order {
	for i := range o.Lines {
		if o.Lines[i].Adjustments == nil {
			o.Lines[i].Adjustments = []pricing.Adjustment{}
		}
	}
	return o
}
