package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/cart"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

type priceWindowJSON struct {
	ID         string    `json:"id"`
	SKUID      string    `json:"sku_id"`
	ProductID  string    `json:"product_id"`
	Price      int64     `json:"price"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
	EndedEarly bool      `json:"ended_early"`
	State      string    `json:"state"`
}

type shopWindowJSON struct {
	Price    int64     `json:"price"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
}

type shopSKUJSON struct {
	ID              string          `json:"id"`
	ListPrice       int64           `json:"list_price"`
	SalePrice       int64           `json:"sale_price"`
	LimitedTime     *shopWindowJSON `json:"limited_time"`
	NextLimitedTime *shopWindowJSON `json:"next_limited_time"`
}

// shelfOf is what a buyer is shown of sku, in the product view and in the
// listing alike (they must agree).
func (w *world) shelfOf(sku string) shopSKUJSON {
	w.t.Helper()
	var p struct {
		MinPrice int64         `json:"min_price"`
		SKUs     []shopSKUJSON `json:"skus"`
	}
	w.anon.must(200, "GET", "/api/v1/products/"+w.product.ID, nil, &p)
	var page struct {
		Items []struct {
			SKUs []shopSKUJSON `json:"skus"`
		} `json:"items"`
	}
	w.anon.must(200, "GET", "/api/v1/products", nil, &page)
	for i, s := range p.SKUs {
		if s.ID != sku {
			continue
		}
		listed := page.Items[0].SKUs[i]
		if listed.ListPrice != s.ListPrice || listed.SalePrice != s.SalePrice || (listed.LimitedTime == nil) != (s.LimitedTime == nil) {
			w.t.Fatalf("the listing shows %+v, the product %+v", listed, s)
		}
		if p.MinPrice > s.SalePrice {
			w.t.Fatalf("min_price %d above a SKU's price %d", p.MinPrice, s.SalePrice)
		}
		return s
	}
	w.t.Fatalf("no SKU %s", sku)
	return shopSKUJSON{}
}

func (w *world) windowBody(sku string, price int, start time.Time, length time.Duration) map[string]any {
	return map[string]any{"sku_id": sku, "price": price, "starts_at": start.Format(time.RFC3339),
		"ends_at": start.Add(length).Format(time.RFC3339)}
}

// TestPriceWindows: an operator sets a limited-time price; buyers see it
// announced, then in force in the product views, their carts and their
// orders, with a crossed-out price only as high as real orders paid; the
// operator lists, reads, ends and deletes windows.
func TestPriceWindows(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		clk := w.app.Clock
		w.app.Drain(t)
		// Nothing was ever charged for skuA: its list price of 2599 is not
		// shown as a crossed-out price.
		if s := w.shelfOf(w.skuA); s.ListPrice != 1999 || s.SalePrice != 1999 || s.LimitedTime != nil {
			t.Fatalf("before any order: %+v", s)
		}
		w.placeOrder(w.alice, w.aliceAddr.ID, w.skuA, 1) // at 1999
		w.app.Drain(t)

		start := clk.Now().Add(time.Hour)
		body := w.windowBody(w.skuA, 1799, start, 2*time.Hour)
		body["announce_at"] = clk.Now().Format(time.RFC3339)
		var pw priceWindowJSON
		w.operator.must(201, "POST", "/admin/api/v1/price-windows", body, &pw)
		if pw.State != "upcoming" || pw.ProductID != w.product.ID || pw.Price != 1799 || !pw.StartsAt.Equal(start) {
			t.Fatalf("created: %+v", pw)
		}
		// The same request again overlaps the first.
		if p := w.operator.must(409, "POST", "/admin/api/v1/price-windows", body, nil).problem(t); p.Code != "price_window_overlap" {
			t.Fatalf("repeat: %+v", p)
		}
		s := w.shelfOf(w.skuA)
		if s.SalePrice != 1999 || s.LimitedTime != nil || s.NextLimitedTime == nil || s.NextLimitedTime.Price != 1799 {
			t.Fatalf("announced: %+v", s)
		}
		w.bob.must(200, "POST", "/api/v1/cart/items", map[string]any{"sku_id": w.skuA, "qty": 2}, nil)

		clk.Advance(time.Hour)
		s = w.shelfOf(w.skuA)
		if s.SalePrice != 1799 || s.ListPrice != 1999 || s.LimitedTime == nil || !s.LimitedTime.EndsAt.Equal(start.Add(2*time.Hour)) || s.NextLimitedTime != nil {
			t.Fatalf("in force: %+v", s)
		}
		// The cart shows the new price; checking out at the old one is
		// refused once, then goes through at the new one.
		var cv cart.View
		w.bob.must(200, "GET", "/api/v1/cart", nil, &cv)
		if cv.Lines[0].Price != 1799 || !cv.Lines[0].PriceChanged || cv.Subtotal != 3598 {
			t.Fatalf("cart: %+v", cv)
		}
		checkout := map[string]any{"from_cart": true, "address_id": w.bobAddr.ID}
		if p := w.bob.must(409, "POST", "/api/v1/orders", checkout, nil).problem(t); p.Code != "price_changed" {
			t.Fatalf("checkout at the old price: %+v", p)
		}
		var fromCart order.Order
		w.bob.must(201, "POST", "/api/v1/orders", checkout, &fromCart)
		direct := w.placeOrder(w.alice, w.aliceAddr.ID, w.skuA, 1)
		for _, o := range []order.Order{fromCart, direct} {
			l := o.Lines[0]
			adj := l.Adjustments[len(l.Adjustments)-1]
			if l.Amount != money.Fen(1799).Mul(l.Qty) || adj.Step != pricing.StepLimitedTime || adj.Ref != pw.ID || adj.Amount != money.Fen(200).Mul(l.Qty) {
				t.Fatalf("order line: %+v", l)
			}
		}
		w.app.Drain(t)
		// Orders at 1799 in the window do not erase its crossed-out price.
		if s := w.shelfOf(w.skuA); s.ListPrice != 1999 {
			t.Fatalf("after orders in the window: %+v", s)
		}

		var got priceWindowJSON
		w.operator.must(200, "GET", "/admin/api/v1/price-windows/"+pw.ID, nil, &got)
		if got.State != "running" {
			t.Fatalf("read: %+v", got)
		}
		var page struct {
			Items      []priceWindowJSON `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		for _, q := range []string{"sku_id=" + w.skuA, "product_id=" + w.product.ID} {
			page.Items = nil
			w.operator.must(200, "GET", "/admin/api/v1/price-windows?"+q, nil, &page)
			if len(page.Items) != 1 || page.Items[0].ID != pw.ID {
				t.Fatalf("list %s: %+v", q, page)
			}
		}
		// A started window is ended, not deleted; ending twice is once.
		if p := w.operator.must(409, "DELETE", "/admin/api/v1/price-windows/"+pw.ID, nil, nil).problem(t); p.Code != "price_window_started" {
			t.Fatalf("delete a running window: %+v", p)
		}
		clk.Advance(time.Minute)
		var ended, again priceWindowJSON
		w.operator.must(200, "POST", "/admin/api/v1/price-windows/"+pw.ID+"/end", nil, &ended)
		if ended.State != "ended" || !ended.EndedEarly || !ended.EndsAt.Equal(clk.Now()) {
			t.Fatalf("ended: %+v", ended)
		}
		w.operator.must(200, "POST", "/admin/api/v1/price-windows/"+pw.ID+"/end", nil, &again)
		if again != ended {
			t.Fatalf("ended twice: %+v", again)
		}
		// Back at 1999, and 1799 was charged this week: nothing crossed out.
		if s := w.shelfOf(w.skuA); s.SalePrice != 1999 || s.ListPrice != 1999 || s.LimitedTime != nil {
			t.Fatalf("after the end: %+v", s)
		}
		if o := w.placeOrder(w.alice, w.aliceAddr.ID, w.skuA, 1); o.Lines[0].Amount != 1999 {
			t.Fatalf("after the end: %+v", o.Lines[0])
		}

		// An upcoming window is deleted, not ended; deleting twice is 404.
		var later priceWindowJSON
		w.operator.must(201, "POST", "/admin/api/v1/price-windows", w.windowBody(w.skuB, 2500, clk.Now().Add(24*time.Hour), time.Hour), &later)
		if p := w.operator.must(409, "POST", "/admin/api/v1/price-windows/"+later.ID+"/end", nil, nil).problem(t); p.Code != "price_window_not_started" {
			t.Fatalf("end an upcoming window: %+v", p)
		}
		if s := w.shelfOf(w.skuB); s.NextLimitedTime != nil {
			t.Fatalf("an unannounced window is shown: %+v", s)
		}
		w.operator.must(204, "DELETE", "/admin/api/v1/price-windows/"+later.ID, nil, nil)
		w.operator.must(404, "DELETE", "/admin/api/v1/price-windows/"+later.ID, nil, nil)
		w.operator.must(404, "GET", "/admin/api/v1/price-windows/"+later.ID, nil, nil)
	})
}

// TestPriceWindowRaise: no discount starts within 7 days after a raise of
// the sale price, whichever the operator sets first.
func TestPriceWindowRaise(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		clk := w.app.Clock
		w.app.Drain(t) // the catalog's events are on record, as the dispatcher keeps them
		w.operator.must(200, "PATCH", "/admin/api/v1/products/"+w.product.ID, map[string]any{
			"skus": []map[string]any{{"id": w.skuB, "sale_price": 3299}}}, nil)
		p := w.operator.must(409, "POST", "/admin/api/v1/price-windows", w.windowBody(w.skuB, 2999, clk.Now().Add(time.Hour), time.Hour), nil).problem(t)
		if p.Code != "sale_price_recently_raised" || !strings.Contains(p.Detail, "7 days") {
			t.Fatalf("window after a raise: %+v", p)
		}
		w.app.Drain(t)
		// A window starting a week after the raise, set today, is fine.
		w.operator.must(201, "POST", "/admin/api/v1/price-windows", w.windowBody(w.skuB, 2999, clk.Now().Add(7*24*time.Hour+time.Minute), time.Hour), nil)

		w.operator.must(201, "POST", "/admin/api/v1/price-windows", w.windowBody(w.skuA, 1799, clk.Now().Add(48*time.Hour), time.Hour), nil)
		p = w.operator.must(409, "PATCH", "/admin/api/v1/products/"+w.product.ID, map[string]any{
			"skus": []map[string]any{{"id": w.skuA, "sale_price": 2099}}}, nil).problem(t)
		if p.Code != "price_raise_before_discount" || p.Field != "skus[0].sale_price" {
			t.Fatalf("raise before a window: %+v", p)
		}
		// A window's price is below the sale price.
		p = w.operator.must(400, "POST", "/admin/api/v1/price-windows", w.windowBody(w.skuA, 1999, clk.Now().Add(72*time.Hour), time.Hour), nil).problem(t)
		if p.Code != "price_not_below_sale_price" || p.Field != "price" {
			t.Fatalf("at the sale price: %+v", p)
		}
		// Once the window has run, the raise goes through.
		clk.Advance(50 * time.Hour)
		w.operator = w.operatorLogin(string(identity.Operator) + "@shop.example")
		w.operator.must(200, "PATCH", "/admin/api/v1/products/"+w.product.ID, map[string]any{
			"skus": []map[string]any{{"id": w.skuA, "sale_price": 2099}}}, nil)
	})
}

// TestPriceWindowBadInput sends the limited-time price and planning
// endpoints what a careless or hostile client might.
func TestPriceWindowBadInput(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			w := newWorld(t, engine)
			now := w.app.Clock.Now()
			const unknown = "0190d7f6-0000-7000-8000-000000000000"
			body := func(change map[string]any) map[string]any {
				b := w.windowBody(w.skuA, 1799, now.Add(time.Hour), time.Hour)
				for k, v := range change {
					if v == nil {
						delete(b, k)
					} else {
						b[k] = v
					}
				}
				return b
			}
			const path = "/admin/api/v1/price-windows"
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
				{"malformed JSON", w.operator, "POST", path, raw(`{"price":`), nil, 400, "malformed_json", ""},
				{"an array", w.operator, "POST", path, raw(`[]`), nil, 400, "invalid_type", "body"},
				{"two values", w.operator, "POST", path, raw(`{} {}`), nil, 400, "malformed_json", ""},
				{"unknown field", w.operator, "POST", path, body(map[string]any{"discount": 10}), nil, 400, "unknown_field", "discount"},
				{"price as a string", w.operator, "POST", path, body(map[string]any{"price": "1799"}), nil, 400, "invalid_type", "price"},
				{"price as a fraction", w.operator, "POST", path, body(map[string]any{"price": 17.99}), nil, 400, "invalid_type", "price"},
				{"price past int64", w.operator, "POST", path, body(map[string]any{"price": 1e30}), nil, 400, "invalid_type", "price"},
				{"a free window", w.operator, "POST", path, body(map[string]any{"price": 0}), nil, 400, "price_out_of_range", "price"},
				{"a negative price", w.operator, "POST", path, body(map[string]any{"price": -1}), nil, 400, "price_out_of_range", "price"},
				{"at the sale price", w.operator, "POST", path, body(map[string]any{"price": 1999}), nil, 400, "price_not_below_sale_price", "price"},
				{"a time in words", w.operator, "POST", path, body(map[string]any{"starts_at": "tomorrow"}), nil, 400, "invalid_time", "starts_at"},
				{"a time as a number", w.operator, "POST", path, body(map[string]any{"ends_at": 1700000000}), nil, 400, "invalid_type", "ends_at"},
				{"ends first", w.operator, "POST", path, body(map[string]any{"ends_at": now.Format(time.RFC3339)}), nil, 400, "invalid_window", "ends_at"},
				{"8 days", w.operator, "POST", path, body(map[string]any{"ends_at": now.Add(8*24*time.Hour + time.Hour).Format(time.RFC3339)}), nil, 400, "window_too_long", "ends_at"},
				{"in the past", w.operator, "POST", path, body(map[string]any{"starts_at": now.Add(-time.Hour).Format(time.RFC3339)}), nil, 400, "starts_in_past", "starts_at"},
				{"a year ahead", w.operator, "POST", path, w.windowBody(w.skuA, 1799, now.AddDate(1, 0, 0), time.Hour), nil, 400, "starts_too_far_ahead", "starts_at"},
				{"announced after the start", w.operator, "POST", path, body(map[string]any{"announce_at": now.Add(2 * time.Hour).Format(time.RFC3339)}), nil, 400, "announce_after_start", "announce_at"},
				{"a malformed SKU", w.operator, "POST", path, body(map[string]any{"sku_id": "1 OR 1=1"}), nil, 400, "invalid_id", "sku_id"},
				{"no such SKU", w.operator, "POST", path, body(map[string]any{"sku_id": unknown}), nil, 404, "sku_not_found", "sku_id"},
				{"everything missing", w.operator, "POST", path, map[string]any{}, nil, 400, "validation_failed", "sku_id"},
				{"every fault at once", w.operator, "POST", path, map[string]any{"sku_id": "x", "price": 0, "starts_at": "soon", "ends_at": "later"}, nil, 400, "validation_failed", "ends_at"},
				{"as text", w.operator, "POST", path, raw(`{}`), []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", "Content-Type"},
				{"body over 1 MiB", w.operator, "POST", path, body(map[string]any{"sku_id": strings.Repeat("x", 1<<20)}), nil, 413, "body_too_large", ""},
				{"finance creates", w.finance, "POST", path, body(nil), nil, 403, "forbidden", ""},
				{"a buyer creates", w.alice, "POST", path, body(nil), nil, 401, "unauthenticated", ""},
				{"list with no filter", w.operator, "GET", path, nil, nil, 400, "sku_or_product_required", "sku_id"},
				{"list with both filters", w.operator, "GET", path + "?sku_id=" + w.skuA + "&product_id=" + w.product.ID, nil, nil, 400, "sku_or_product_required", "sku_id"},
				{"list a malformed SKU", w.operator, "GET", path + "?sku_id=x", nil, nil, 400, "invalid_parameter", "sku_id"},
				{"list a forged cursor", w.operator, "GET", path + "?sku_id=" + w.skuA + "&cursor=forged", nil, nil, 400, "invalid_cursor", "cursor"},
				{"list limit 0", w.operator, "GET", path + "?sku_id=" + w.skuA + "&limit=0", nil, nil, 400, "invalid_parameter", "limit"},
				{"list limit 101", w.operator, "GET", path + "?sku_id=" + w.skuA + "&limit=101", nil, nil, 400, "invalid_parameter", "limit"},
				{"list unknown parameter", w.operator, "GET", path + "?sku=" + w.skuA, nil, nil, 400, "unknown_parameter", "sku"},
				{"list repeated parameter", w.operator, "GET", path + "?sku_id=" + w.skuA + "&sku_id=" + w.skuB, nil, nil, 400, "invalid_parameter", "sku_id"},
				{"read nothing", w.operator, "GET", path + "/" + unknown, nil, nil, 404, "price_window_not_found", ""},
				{"read a malformed id", w.operator, "GET", path + "/1%20OR%201=1", nil, nil, 404, "price_window_not_found", ""},
				{"end nothing", w.operator, "POST", path + "/" + unknown + "/end", nil, nil, 404, "price_window_not_found", ""},
				{"delete a malformed id", w.operator, "DELETE", path + "/x", nil, nil, 404, "price_window_not_found", ""},
				{"a reviewer ends", w.reviewer, "POST", path + "/" + unknown + "/end", nil, nil, 403, "forbidden", ""},

				{"plan malformed", w.operator, "POST", "/admin/api/v1/supply/plan", raw(`{"expected_units":`), nil, 400, "malformed_json", ""},
				{"plan unknown field", w.operator, "POST", "/admin/api/v1/supply/plan", map[string]any{"expected_units": 10, "ratio": 0.6}, nil, 400, "unknown_field", "ratio"},
				{"plan units as a string", w.operator, "POST", "/admin/api/v1/supply/plan", map[string]any{"expected_units": "10"}, nil, 400, "invalid_type", "expected_units"},
				{"plan units as a fraction", w.operator, "POST", "/admin/api/v1/supply/plan", map[string]any{"expected_units": 10.5}, nil, 400, "invalid_type", "expected_units"},
				{"plan no units", w.operator, "POST", "/admin/api/v1/supply/plan", map[string]any{}, nil, 400, "out_of_range", "expected_units"},
				{"plan negative units", w.operator, "POST", "/admin/api/v1/supply/plan", map[string]any{"expected_units": -5}, nil, 400, "out_of_range", "expected_units"},
				{"plan too many units", w.operator, "POST", "/admin/api/v1/supply/plan", map[string]any{"expected_units": 100000001}, nil, 400, "out_of_range", "expected_units"},
				{"plan units past int64", w.operator, "POST", "/admin/api/v1/supply/plan", map[string]any{"expected_units": 1e30}, nil, 400, "invalid_type", "expected_units"},
				{"plan both wrong", w.operator, "POST", "/admin/api/v1/supply/plan", map[string]any{"expected_units": 0, "sku_id": "x"}, nil, 400, "validation_failed", "sku_id"},
				{"plan no such SKU", w.operator, "POST", "/admin/api/v1/supply/plan", map[string]any{"expected_units": 10, "sku_id": unknown}, nil, 404, "sku_not_found", "sku_id"},
				{"plan as finance", w.finance, "POST", "/admin/api/v1/supply/plan", map[string]any{"expected_units": 10}, nil, 403, "forbidden", ""},
			}
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
			// Nothing of that set a window.
			var page struct {
				Items []priceWindowJSON `json:"items"`
			}
			w.operator.must(200, "GET", path+"?product_id="+w.product.ID, nil, &page)
			if len(page.Items) != 0 {
				t.Fatalf("bad input set windows: %+v", page.Items)
			}
		})
	}
}

// TestSupplyPlan: the planning aid splits demand 60/30 rounded up and,
// for a SKU, takes its stock off the first batch.
func TestSupplyPlan(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		type plan struct {
			ExpectedUnits    int64  `json:"expected_units"`
			FirstBatch       int64  `json:"first_batch"`
			FlexibleCapacity int64  `json:"flexible_capacity"`
			Uncommitted      int64  `json:"uncommitted"`
			SKUID            string `json:"sku_id"`
			Available        *int64 `json:"available"`
			FirstBatchToMake *int64 `json:"first_batch_to_make"`
		}
		var p plan
		w.operator.must(200, "POST", "/admin/api/v1/supply/plan", map[string]any{"expected_units": 7}, &p)
		if p.FirstBatch != 5 || p.FlexibleCapacity != 2 || p.Uncommitted != 0 || p.Available != nil {
			t.Fatalf("7 units: %+v", p)
		}
		// skuA has 100 units: 600 of the 1001 expected, 500 of them to make.
		p = plan{}
		w.owner.must(200, "POST", "/admin/api/v1/supply/plan", map[string]any{"expected_units": 1001, "sku_id": w.skuA}, &p)
		if p.FirstBatch != 601 || p.FlexibleCapacity != 300 || p.Uncommitted != 100 || *p.Available != 100 || *p.FirstBatchToMake != 501 || p.SKUID != w.skuA {
			t.Fatalf("1001 units of skuA: %+v", p)
		}
		p = plan{}
		w.operator.must(200, "POST", "/admin/api/v1/supply/plan", map[string]any{"expected_units": 10, "sku_id": w.skuA}, &p)
		if *p.FirstBatchToMake != 0 {
			t.Fatalf("stock covers the batch: %+v", p)
		}
	})
}
