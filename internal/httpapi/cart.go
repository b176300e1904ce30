package httpapi

import (
	"net/http"

	"github.com/siyu-commerce/siyu/internal/cart"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// cartAddRequest is the body of POST /api/v1/cart/items. Like an order, it
// carries no price: the cart records the price the shop showed.
type cartAddRequest struct {
	SKUID string `json:"sku_id"`
	Qty   int    `json:"qty"`
}

func (req cartAddRequest) toLine() (lineRequest, error) {
	var l errs.List
	if !ids.Valid(req.SKUID) {
		l.Add("sku_id", "invalid_id", "sku_id must be the id of a SKU")
	}
	checkQty(&l, "qty", req.Qty)
	return lineRequest(req), l.Err()
}

// cartQtyRequest is the body of PUT /api/v1/cart/items/{sku_id}.
type cartQtyRequest struct {
	Qty int `json:"qty"`
}

func (req cartQtyRequest) toQty() (int, error) {
	var l errs.List
	checkQty(&l, "qty", req.Qty)
	return req.Qty, l.Err()
}

func checkQty(l *errs.List, field string, qty int) {
	if qty < 1 || qty > cart.MaxQty {
		l.Add(field, "qty_out_of_range", "qty must be from 1 to %d", cart.MaxQty)
	}
}

// cartSKU returns the {sku_id} of the path; a malformed one is no line of
// any cart.
func cartSKU(r *http.Request) (string, error) {
	id := r.PathValue("sku_id")
	if !ids.Valid(id) {
		return "", cart.ErrLineMissing
	}
	return id, nil
}

func (a *api) getCart(w http.ResponseWriter, r *http.Request, buyerID string) {
	v, err := a.d.Carts.View(r.Context(), buyerID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if v.Lines == nil {
		v.Lines = []cart.ViewLine{}
	}
	writeJSON(w, r, http.StatusOK, v)
}

func (a *api) addToCart(w http.ResponseWriter, r *http.Request, buyerID string) {
	var req cartAddRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	in, err := req.toLine()
	if err != nil {
		writeError(w, r, err)
		return
	}
	l, err := a.d.Carts.Add(r.Context(), buyerID, in.SKUID, in.Qty)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, l)
}

func (a *api) setCartQty(w http.ResponseWriter, r *http.Request, buyerID string) {
	sku, err := cartSKU(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req cartQtyRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	qty, err := req.toQty()
	if err != nil {
		writeError(w, r, err)
		return
	}
	l, err := a.d.Carts.SetQty(r.Context(), buyerID, sku, qty)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, l)
}

func (a *api) removeFromCart(w http.ResponseWriter, r *http.Request, buyerID string) {
	sku, err := cartSKU(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := a.d.Carts.Remove(r.Context(), buyerID, sku); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
