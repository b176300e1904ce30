package httpapi_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/order"
)

// TestBadInput sends what a careless or hostile client might, and checks
// each gets its clear error and changes nothing: no order is placed and no
// stock is reserved.
func TestBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		bobsOrder := w.placeOrder(w.bob, w.bobAddr.ID, w.skuB, 1)
		addr := w.aliceAddr.ID
		line := func(extra map[string]any) map[string]any {
			l := map[string]any{"sku_id": w.skuA, "qty": 1}
			for k, v := range extra {
				l[k] = v
			}
			return l
		}
		orderBody := func(extra map[string]any, lines ...map[string]any) map[string]any {
			if lines == nil {
				lines = []map[string]any{line(nil)}
			}
			o := map[string]any{"lines": lines, "address_id": addr}
			for k, v := range extra {
				o[k] = v
			}
			return o
		}
		manyLines := []map[string]any{}
		for i := range 51 {
			manyLines = append(manyLines, map[string]any{"sku_id": fmt.Sprintf("0190d7f6-0000-7000-8000-%012d", i), "qty": 1})
		}

		cases := []struct {
			name        string
			c           *client
			method      string
			path        string
			body        any
			hdr         []string
			status      int
			code, field string
		}{
			{"malformed JSON", w.alice, "POST", "/api/v1/orders", raw(`{"lines":[`), nil, 400, "malformed_json", ""},
			{"not JSON at all", w.alice, "POST", "/api/v1/orders", raw(`lines=1`), nil, 400, "malformed_json", ""},
			{"two JSON values", w.alice, "POST", "/api/v1/orders", raw(`{"from_cart":true} {"from_cart":true}`), nil, 400, "malformed_json", ""},
			{"empty body", w.alice, "POST", "/api/v1/orders", raw(``), nil, 400, "malformed_json", ""},
			{"an array", w.alice, "POST", "/api/v1/orders", raw(`[]`), nil, 400, "invalid_type", "body"},
			{"unknown field", w.alice, "POST", "/api/v1/orders", orderBody(map[string]any{"coupon": "FREE"}), nil, 400, "unknown_field", "coupon"},
			{"misspelt field", w.alice, "POST", "/api/v1/orders", map[string]any{"lines": []any{line(nil)}, "adress_id": addr}, nil, 400, "unknown_field", "adress_id"},
			{"qty as a string", w.alice, "POST", "/api/v1/orders", orderBody(nil, line(map[string]any{"qty": "2"})), nil, 400, "invalid_type", "lines.qty"},
			{"qty as a fraction", w.alice, "POST", "/api/v1/orders", orderBody(nil, line(map[string]any{"qty": 1.5})), nil, 400, "invalid_type", "lines.qty"},
			{"qty past int64", w.alice, "POST", "/api/v1/orders", orderBody(nil, line(map[string]any{"qty": 1e30})), nil, 400, "invalid_type", "lines.qty"},
			{"sku_id as a number", w.alice, "POST", "/api/v1/orders", orderBody(nil, line(map[string]any{"sku_id": 7})), nil, 400, "invalid_type", "lines.sku_id"},
			{"negative qty", w.alice, "POST", "/api/v1/orders", orderBody(nil, line(map[string]any{"qty": -1})), nil, 400, "qty_out_of_range", "lines[0].qty"},
			{"zero qty", w.alice, "POST", "/api/v1/orders", orderBody(nil, line(map[string]any{"qty": 0})), nil, 400, "qty_out_of_range", "lines[0].qty"},
			{"huge qty", w.alice, "POST", "/api/v1/orders", orderBody(nil, line(map[string]any{"qty": 1_000_000_000_000})), nil, 400, "qty_out_of_range", "lines[0].qty"},
			{"100 units", w.alice, "POST", "/api/v1/orders", orderBody(nil, line(map[string]any{"qty": 100})), nil, 400, "qty_out_of_range", "lines[0].qty"},
			{"client price on the order", w.alice, "POST", "/api/v1/orders", orderBody(map[string]any{"total": 1}), nil, 400, "unknown_field", "total"},
			{"client price on a line", w.alice, "POST", "/api/v1/orders", orderBody(nil, line(map[string]any{"price": 1})), nil, 400, "unknown_field", "price"},
			{"client unit price", w.alice, "POST", "/api/v1/orders", orderBody(nil, line(map[string]any{"unit_price": 1})), nil, 400, "unknown_field", "unit_price"},
			{"client amount", w.alice, "POST", "/api/v1/orders", orderBody(nil, line(map[string]any{"amount": 1})), nil, 400, "unknown_field", "amount"},
			{"client sale price", w.alice, "POST", "/api/v1/orders", orderBody(nil, line(map[string]any{"sale_price": 1})), nil, 400, "unknown_field", "sale_price"},
			{"client discount", w.alice, "POST", "/api/v1/orders", orderBody(map[string]any{"discount": 1999}), nil, 400, "unknown_field", "discount"},
			{"malformed SKU id", w.alice, "POST", "/api/v1/orders", orderBody(nil, line(map[string]any{"sku_id": "../etc"})), nil, 400, "invalid_id", "lines[0].sku_id"},
			{"unknown SKU", w.alice, "POST", "/api/v1/orders", orderBody(nil, line(map[string]any{"sku_id": "0190d7f6-0000-7000-8000-000000000000"})), nil, 409, "product_unavailable", ""},
			{"same SKU twice", w.alice, "POST", "/api/v1/orders", orderBody(nil, line(nil), line(nil)), nil, 400, "duplicate_sku", "lines[1].sku_id"},
			{"51 lines", w.alice, "POST", "/api/v1/orders", orderBody(nil, manyLines...), nil, 400, "too_many_lines", "lines"},
			{"no lines", w.alice, "POST", "/api/v1/orders", map[string]any{"address_id": addr}, nil, 400, "required", "lines"},
			{"lines and cart", w.alice, "POST", "/api/v1/orders", orderBody(map[string]any{"from_cart": true}), nil, 400, "conflicting_fields", "lines"},
			{"long remark", w.alice, "POST", "/api/v1/orders", orderBody(map[string]any{"remark": strings.Repeat("茶", 201)}), nil, 400, "too_long", "remark"},
			{"no address", w.alice, "POST", "/api/v1/orders", map[string]any{"lines": []any{line(nil)}}, nil, 400, "invalid_id", "address_id"},
			{"bob's address", w.alice, "POST", "/api/v1/orders", orderBody(map[string]any{"address_id": w.bobAddr.ID}), nil, 404, "address_not_found", ""},
			{"form body", w.alice, "POST", "/api/v1/orders", raw(`{}`), []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", "Content-Type"},
			{"body over 1 MiB", w.alice, "POST", "/api/v1/orders", orderBody(map[string]any{"remark": strings.Repeat("x", 1<<20)}), nil, 413, "body_too_large", ""},
			{"no token", w.anon, "POST", "/api/v1/orders", orderBody(nil), nil, 401, "unauthenticated", ""},
			{"unknown token", w.anon.as("not-a-token"), "POST", "/api/v1/orders", orderBody(nil), nil, 401, "unauthenticated", ""},
			{"operator token", w.owner, "POST", "/api/v1/orders", orderBody(nil), nil, 401, "unauthenticated", ""},
			{"bob's order", w.alice, "GET", "/api/v1/orders/" + bobsOrder.ID, nil, nil, 404, "order_not_found", ""},
			{"cancel bob's order", w.alice, "POST", "/api/v1/orders/" + bobsOrder.ID + "/cancel", nil, nil, 404, "order_not_found", ""},
			{"confirm bob's order", w.alice, "POST", "/api/v1/orders/" + bobsOrder.ID + "/confirm-receipt", nil, nil, 404, "order_not_found", ""},
			{"malformed order id", w.alice, "GET", "/api/v1/orders/1%20OR%201=1", nil, nil, 404, "order_not_found", ""},
			{"bob's address read", w.alice, "GET", "/api/v1/addresses/" + w.bobAddr.ID, nil, nil, 404, "address_not_found", ""},
			{"bob's address rewritten", w.alice, "PUT", "/api/v1/addresses/" + w.bobAddr.ID, addressBody("黑客", "13800000000", "x"), nil, 404, "address_not_found", ""},
			{"bob's address deleted", w.alice, "DELETE", "/api/v1/addresses/" + w.bobAddr.ID, nil, nil, 404, "address_not_found", ""},
			{"bad phone", w.alice, "POST", "/api/v1/addresses", addressBody("王五", "12345", "x路1号"), nil, 400, "invalid_phone", "phone"},
			{"unknown listing parameter", w.anon, "GET", "/api/v1/products?colour=red", nil, nil, 400, "unknown_parameter", "colour"},
			{"limit 0", w.anon, "GET", "/api/v1/products?limit=0", nil, nil, 400, "invalid_parameter", "limit"},
			{"limit huge", w.anon, "GET", "/api/v1/products?limit=99999999999999999999", nil, nil, 400, "invalid_parameter", "limit"},
			{"bad sort", w.anon, "GET", "/api/v1/products?sort=cheapest", nil, nil, 400, "invalid_parameter", "sort"},
			{"negative price", w.anon, "GET", "/api/v1/products?min_price=-1", nil, nil, 400, "invalid_parameter", "min_price"},
			{"decimal price", w.anon, "GET", "/api/v1/products?max_price=19.99", nil, nil, 400, "invalid_parameter", "max_price"},
			{"max under min", w.anon, "GET", "/api/v1/products?min_price=500&max_price=100", nil, nil, 400, "invalid_parameter", "max_price"},
			{"bad category", w.anon, "GET", "/api/v1/products?category_id=tea", nil, nil, 400, "invalid_parameter", "category_id"},
			{"bad cursor", w.anon, "GET", "/api/v1/products?cursor=forged", nil, nil, 400, "invalid_cursor", "cursor"},
			{"bad order status", w.alice, "GET", "/api/v1/orders?status=lost", nil, nil, 400, "invalid_parameter", "status"},
			{"repeated parameter", w.alice, "GET", "/api/v1/orders?limit=1&limit=2", nil, nil, 400, "invalid_parameter", "limit"},
		}
		before := w.orderCount(w.alice)
		stockA, stockB := w.stockOf(w.skuA), w.stockOf(w.skuB)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				cl := &client{t: t, h: c.c.h, token: c.c.token}
				r := cl.do(c.method, c.path, c.body, c.hdr...)
				if r.Status != c.status {
					t.Fatalf("got %d, want %d: %s", r.Status, c.status, r.Body)
				}
				p := r.problem(t)
				if p.Code != c.code || (c.field != "" && !p.hasField(c.field)) {
					t.Fatalf("got %s field %q %+v, want %s field %q", p.Code, p.Field, p.Errors, c.code, c.field)
				}
			})
		}
		if n := w.orderCount(w.alice); n != before {
			t.Errorf("alice has %d orders, had %d", n, before)
		}
		if a, b := w.stockOf(w.skuA), w.stockOf(w.skuB); a != stockA || b != stockB {
			t.Errorf("stock moved: %+v %+v, was %+v %+v", a, b, stockA, stockB)
		}
		var bobs order.Order
		w.bob.must(200, "GET", "/api/v1/orders/"+bobsOrder.ID, nil, &bobs)
		if bobs.Status != order.PendingPayment {
			t.Errorf("bob's order is %s", bobs.Status)
		}
		var bobAddr identity.Address
		w.bob.must(200, "GET", "/api/v1/addresses/"+w.bobAddr.ID, nil, &bobAddr)
		if bobAddr.Name != "李四" {
			t.Errorf("bob's address is now %+v", bobAddr)
		}
	})
}

// TestExpiredSession: a token past its lifetime is refused like any other
// bad token.
func TestExpiredSession(t *testing.T) {
	w := newWorld(t, "sqlite")
	w.alice.must(200, "GET", "/api/v1/orders", nil, nil)
	w.app.Clock.Advance(identity.DefaultBuyerTTL + time.Second)
	if p := w.alice.must(401, "GET", "/api/v1/orders", nil, nil).problem(t); p.Code != "unauthenticated" {
		t.Fatalf("expired: %+v", p)
	}
	if p := w.alice.must(401, "POST", "/api/v1/orders", directBuy(w.aliceAddr.ID, w.skuA, 1), nil).problem(t); p.Code != "unauthenticated" {
		t.Fatalf("expired: %+v", p)
	}
	if p := w.owner.must(401, "GET", "/admin/api/v1/orders", nil, nil).problem(t); p.Code != "unauthenticated" {
		t.Fatalf("expired operator: %+v", p)
	}
	// A fresh login works again, and nothing was placed meanwhile.
	if n := w.orderCount(w.buyerLogin("alice")); n != 0 {
		t.Fatalf("%d orders", n)
	}
}

// TestIdempotentOrder: the same order request with the same key, twenty
// times at once, places one order; the key with another body is refused.
func TestIdempotentOrder(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		body := directBuy(w.aliceAddr.ID, w.skuA, 3)
		key := []string{"Idempotency-Key", "order-7f3a"}
		replies := make([]reply, 20)
		var wg sync.WaitGroup
		for i := range replies {
			wg.Go(func() { replies[i] = w.alice.do("POST", "/api/v1/orders", body, key...) })
		}
		wg.Wait()
		replayed := 0
		for _, r := range replies {
			if r.Status != 201 || string(r.Body) != string(replies[0].Body) {
				t.Fatalf("got %d %s; first %d %s", r.Status, r.Body, replies[0].Status, replies[0].Body)
			}
			if r.Header.Get("Idempotent-Replayed") == "true" {
				replayed++
			}
		}
		if replayed != 19 {
			t.Errorf("%d replays, want 19", replayed)
		}
		if n := w.orderCount(w.alice); n != 1 {
			t.Fatalf("%d orders, want 1", n)
		}
		if l := w.stockOf(w.skuA); l.Reserved != 3 {
			t.Fatalf("reserved %d, want 3", l.Reserved)
		}

		// Later repeats replay too; another body with the key is refused.
		r := w.alice.must(201, "POST", "/api/v1/orders", body, nil, key...)
		if string(r.Body) != string(replies[0].Body) || r.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("late repeat: %s", r.Body)
		}
		other := directBuy(w.aliceAddr.ID, w.skuA, 4)
		if p := w.alice.must(422, "POST", "/api/v1/orders", other, nil, key...).problem(t); p.Code != "idempotency_key_reused" {
			t.Fatalf("other body: %+v", p)
		}
		// The key is alice's: bob's identical key is his own request.
		w.bob.must(201, "POST", "/api/v1/orders", directBuy(w.bobAddr.ID, w.skuA, 3), nil, key...)
		// A client error is kept and replayed like a success.
		bad := directBuy(w.aliceAddr.ID, w.skuA, 0)
		first := w.alice.must(400, "POST", "/api/v1/orders", bad, nil, "Idempotency-Key", "bad-1")
		again := w.alice.must(400, "POST", "/api/v1/orders", bad, nil, "Idempotency-Key", "bad-1")
		if string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("client error not replayed: %s / %s", first.Body, again.Body)
		}
		if n := w.orderCount(w.alice); n != 1 {
			t.Fatalf("%d orders, want 1", n)
		}
	})
}

// TestLastUnits: buyers racing for the last units get exactly that many
// orders and a clear out-of-stock otherwise; stock ends at zero.
func TestLastUnits(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		w.operator.must(201, "POST", "/admin/api/v1/stock/adjustments",
			map[string]any{"sku_id": w.skuB, "delta": -95, "reason": "adjust"}, nil)
		type buyer struct {
			c    *client
			addr string
		}
		buyers := make([]buyer, 20)
		for i := range buyers {
			c := w.buyerLogin(fmt.Sprintf("racer%d", i))
			var a identity.Address
			c.must(201, "POST", "/api/v1/addresses", addressBody("赵六", "13700000000", "路1号"), &a)
			buyers[i] = buyer{c, a.ID}
		}
		statuses := make([]reply, len(buyers))
		var wg sync.WaitGroup
		for i, b := range buyers {
			wg.Go(func() { statuses[i] = b.c.do("POST", "/api/v1/orders", directBuy(b.addr, w.skuB, 1)) })
		}
		wg.Wait()
		placed := 0
		for _, r := range statuses {
			switch r.Status {
			case 201:
				placed++
			case 409:
				if p := r.problem(t); p.Code != "out_of_stock" || !strings.Contains(p.Field, w.skuB) {
					t.Errorf("refusal: %+v", p)
				}
			default:
				t.Errorf("got %d %s", r.Status, r.Body)
			}
		}
		if l := w.stockOf(w.skuB); placed != 5 || l.Reserved != 5 || l.Available() != 0 {
			t.Fatalf("%d placed, stock %+v", placed, l)
		}
		metrics := string(w.anon.must(200, "GET", "/metrics", nil, nil).Body)
		if !strings.Contains(metrics, "siyu_stock_reservations_failed_total 15") {
			t.Errorf("metrics: want 15 failed reservations")
		}
	})
}
