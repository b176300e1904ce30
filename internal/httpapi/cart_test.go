package httpapi_test

import (
	"testing"

	"github.com/siyu-commerce/siyu/internal/cart"
	"github.com/siyu-commerce/siyu/internal/order"
)

// TestCart: fill a cart, change it, see a price move, and check it out.
func TestCart(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		var line cart.Line
		w.alice.must(200, "POST", "/api/v1/cart/items", map[string]any{"sku_id": w.skuA, "qty": 2}, &line)
		w.alice.must(200, "POST", "/api/v1/cart/items", map[string]any{"sku_id": w.skuA, "qty": 1}, &line)
		if line.Qty != 3 || line.SeenPrice != 1999 {
			t.Fatalf("added: %+v", line)
		}
		w.alice.must(200, "POST", "/api/v1/cart/items", map[string]any{"sku_id": w.skuB, "qty": 1}, nil)
		w.alice.must(200, "PUT", "/api/v1/cart/items/"+w.skuB, map[string]any{"qty": 4}, &line)
		if line.Qty != 4 {
			t.Fatalf("set: %+v", line)
		}
		var v cart.View
		w.alice.must(200, "GET", "/api/v1/cart", nil, &v)
		if len(v.Lines) != 2 || v.Subtotal != 3*1999+4*2999 {
			t.Fatalf("view: %+v", v)
		}
		// Bob's cart is his own.
		w.bob.must(200, "GET", "/api/v1/cart", nil, &v)
		if len(v.Lines) != 0 {
			t.Fatalf("bob sees %+v", v)
		}
		if p := w.bob.must(404, "PUT", "/api/v1/cart/items/"+w.skuA, map[string]any{"qty": 1}, nil).problem(t); p.Code != "cart_line_not_found" {
			t.Fatalf("bob changes alice's line: %+v", p)
		}

		// Bad cart input changes nothing.
		for _, c := range []struct {
			method, path string
			body         any
			status       int
			code, field  string
		}{
			{"POST", "/api/v1/cart/items", map[string]any{"sku_id": w.skuA, "qty": 0}, 400, "qty_out_of_range", "qty"},
			{"POST", "/api/v1/cart/items", map[string]any{"sku_id": w.skuA, "qty": 99}, 400, "qty_out_of_range", "qty"},
			{"POST", "/api/v1/cart/items", map[string]any{"sku_id": w.skuA, "qty": 1, "price": 1}, 400, "unknown_field", "price"},
			{"POST", "/api/v1/cart/items", map[string]any{"sku_id": "x", "qty": 1}, 400, "invalid_id", "sku_id"},
			{"POST", "/api/v1/cart/items", map[string]any{"sku_id": "0190d7f6-0000-7000-8000-000000000000", "qty": 1}, 404, "sku_not_found", ""},
			{"PUT", "/api/v1/cart/items/" + w.skuA, map[string]any{"qty": -3}, 400, "qty_out_of_range", "qty"},
			{"PUT", "/api/v1/cart/items/" + w.skuA, map[string]any{"qty": 1, "seen_price": 1}, 400, "unknown_field", "seen_price"},
			{"PUT", "/api/v1/cart/items/nope", map[string]any{"qty": 1}, 404, "cart_line_not_found", ""},
			{"DELETE", "/api/v1/cart/items/nope", nil, 404, "cart_line_not_found", ""},
		} {
			p := w.alice.must(c.status, c.method, c.path, c.body, nil).problem(t)
			if p.Code != c.code || (c.field != "" && !p.hasField(c.field)) {
				t.Errorf("%s %s %v: got %+v", c.method, c.path, c.body, p)
			}
		}
		w.alice.must(200, "GET", "/api/v1/cart", nil, &v)
		if len(v.Lines) != 2 || v.Subtotal != 3*1999+4*2999 {
			t.Fatalf("bad input changed the cart: %+v", v)
		}

		// The price moves: checkout names the line, and works once seen.
		w.operator.must(200, "PATCH", "/admin/api/v1/products/"+w.product.ID,
			map[string]any{"skus": []map[string]any{{"id": w.skuA, "sale_price": 2099}}}, nil)
		checkout := map[string]any{"from_cart": true, "sku_ids": []string{w.skuA}, "address_id": w.aliceAddr.ID}
		if p := w.alice.must(409, "POST", "/api/v1/orders", checkout, nil).problem(t); p.Code != "price_changed" || p.Field != "lines["+w.skuA+"]" {
			t.Fatalf("price change: %+v", p)
		}
		var o order.Order
		w.alice.must(201, "POST", "/api/v1/orders", checkout, &o)
		if !o.FromCart || len(o.Lines) != 1 || o.Lines[0].Qty != 3 || o.Lines[0].SalePrice != 2099 {
			t.Fatalf("checkout: %+v", o)
		}
		// Only the line checked out left the cart.
		w.alice.must(200, "GET", "/api/v1/cart", nil, &v)
		if len(v.Lines) != 1 || v.Lines[0].SKUID != w.skuB {
			t.Fatalf("after checkout: %+v", v)
		}
		w.alice.must(204, "DELETE", "/api/v1/cart/items/"+w.skuB, nil, nil)
		w.alice.must(204, "DELETE", "/api/v1/cart/items/"+w.skuB, nil, nil)
		if p := w.alice.must(409, "POST", "/api/v1/orders", map[string]any{"from_cart": true, "address_id": w.aliceAddr.ID}, nil).problem(t); p.Code != "cart_empty" {
			t.Fatalf("empty cart: %+v", p)
		}
	})
}
