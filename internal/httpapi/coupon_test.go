package httpapi_test

import (
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/coupon"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// couponTemplate creates a template through the admin API with sane
// defaults, fields overridden by over.
func (w *world) couponTemplate(over map[string]any) coupon.Template {
	w.t.Helper()
	body := map[string]any{"name": "新人券", "kind": "fixed", "off": 500, "scope": "all", "valid_days": 7,
		"per_buyer_limit": 1, "quantity": 10, "issue_mode": "claim"}
	for k, v := range over {
		if v == nil {
			delete(body, k)
			continue
		}
		body[k] = v
	}
	var t coupon.Template
	w.operator.must(201, "POST", "/admin/api/v1/coupon-templates", body, &t)
	return t
}

func (w *world) claim(c *client, templateID string) coupon.Coupon {
	w.t.Helper()
	var cp coupon.Coupon
	c.must(201, "POST", "/api/v1/coupon-templates/"+templateID+"/claim", nil, &cp)
	return cp
}

func (w *world) couponState(c *client, id string) coupon.State {
	w.t.Helper()
	var p coupon.CouponPage
	c.must(200, "GET", "/api/v1/coupons?limit=100", nil, &p)
	for _, cp := range p.Coupons {
		if cp.ID == id {
			return cp.State
		}
	}
	w.t.Fatalf("coupon %s not listed", id)
	return ""
}

func withCoupons(body map[string]any, ids ...string) map[string]any {
	if ids == nil {
		ids = []string{}
	}
	body["coupon_ids"] = ids
	return body
}

func TestCouponsAtCheckout(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		fixed := w.couponTemplate(nil)
		threshold := w.couponTemplate(map[string]any{"kind": "threshold", "off": 1000, "min_spend": 5000,
			"scope": "product", "scope_ids": []string{w.product.ID}, "valid_days": nil,
			"valid_from": w.app.Clock.Now().Format(time.RFC3339), "valid_until": w.app.Clock.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339)})
		percent := w.couponTemplate(map[string]any{"kind": "percent", "off": nil, "rate_bp": 1000, "cap": 200,
			"scope": "sku", "scope_ids": []string{w.skuB}})
		free := w.couponTemplate(map[string]any{"kind": "free_shipping", "off": nil, "per_buyer_limit": 2})
		recall := w.couponTemplate(map[string]any{"issue_mode": "recall", "budget": 1000})

		var claimable coupon.TemplatePage
		w.anon.must(200, "GET", "/api/v1/coupon-templates?limit=50", nil, &claimable)
		if len(claimable.Templates) != 4 {
			t.Fatalf("claimable: %d templates, want 4 (the recall one is issued, not claimed)", len(claimable.Templates))
		}

		cFixed := w.claim(w.alice, fixed.ID)
		if r := w.alice.do("POST", "/api/v1/coupon-templates/"+fixed.ID+"/claim", nil); r.Status != 409 || r.problem(t).Code != "coupon_limit_reached" {
			t.Fatalf("second claim: %d %s", r.Status, r.Body)
		}
		if r := w.alice.do("POST", "/api/v1/coupon-templates/"+recall.ID+"/claim", nil); r.Status != 403 {
			t.Fatalf("claiming a recall coupon: %d %s", r.Status, r.Body)
		}
		cThreshold := w.claim(w.alice, threshold.ID)
		cPercent := w.claim(w.alice, percent.ID)
		cFree := w.claim(w.alice, free.ID)
		cFree2 := w.claim(w.alice, free.ID)
		bobs := w.claim(w.bob, fixed.ID)

		// The best coupon for a cart of one skuA (1999 + 800 shipping):
		// the fixed and free-shipping pair first.
		w.alice.must(200, "POST", "/api/v1/cart/items", map[string]any{"sku_id": w.skuA, "qty": 1}, nil)
		var sg coupon.CartCoupons
		w.alice.must(200, "GET", "/api/v1/cart/coupons", nil, &sg)
		if sg.Total != 2799 || len(sg.Suggestions) != 4 || sg.Suggestions[0].Saving != 1300 || len(sg.Suggestions[0].CouponIDs) != 2 ||
			sg.Suggestions[1].Saving != 800 || sg.Suggestions[3].Saving != 500 {
			t.Fatalf("suggestions: %+v", sg)
		}

		refusals := []struct {
			name   string
			ids    []string
			status int
			code   string
		}{
			{"two discount coupons", []string{cFixed.ID, cThreshold.ID}, 400, "coupon_stacking"},
			{"two free-shipping coupons", []string{cFree.ID, cFree2.ID}, 400, "coupon_stacking"},
			{"threshold not met", []string{cThreshold.ID}, 409, pricing.CodeCouponThreshold},
			{"out of scope", []string{cPercent.ID}, 409, pricing.CodeCouponScope},
			{"another buyer's coupon", []string{bobs.ID}, 404, "coupon_not_found"},
			{"three coupons", []string{cFixed.ID, cFree.ID, cFree2.ID}, 400, "coupon_stacking"},
			{"the same coupon twice", []string{cFixed.ID, cFixed.ID}, 400, "duplicate_coupon"},
		}
		for _, tc := range refusals {
			r := w.alice.do("POST", "/api/v1/orders", withCoupons(directBuy(w.aliceAddr.ID, w.skuA, 1), tc.ids...))
			if r.Status != tc.status || !problemHas(r.problem(t), tc.code) {
				t.Errorf("%s: %d %s", tc.name, r.Status, r.Body)
			}
		}

		// Used: the discount on the line names the coupon, the shipping is waived.
		var o order.Order
		w.alice.must(201, "POST", "/api/v1/orders", withCoupons(directBuy(w.aliceAddr.ID, w.skuA, 1), cFixed.ID, cFree.ID), &o)
		if o.Total != 1499 || o.Shipping != 0 || !hasAdjustment(o, cFixed.ID, 500) {
			t.Fatalf("order with coupons: %+v", o)
		}
		if r := w.alice.do("POST", "/api/v1/orders", withCoupons(directBuy(w.aliceAddr.ID, w.skuA, 1), cFixed.ID)); r.Status != 409 || r.problem(t).Code != "coupon_unavailable" {
			t.Fatalf("a used coupon again: %d %s", r.Status, r.Body)
		}
		if s := w.couponState(w.alice, cFixed.ID); s != coupon.Used {
			t.Fatalf("after use: %s", s)
		}
		// Cancelled: both come back, the budget too.
		w.alice.must(200, "POST", "/api/v1/orders/"+o.ID+"/cancel", nil, nil)
		w.app.Drain(t)
		if s := w.couponState(w.alice, cFixed.ID); s != coupon.Available {
			t.Fatalf("after cancel: %s", s)
		}
		if s := w.couponState(w.alice, cFree.ID); s != coupon.Available {
			t.Fatalf("free shipping after cancel: %s", s)
		}

		// Refunded in full: back. Refunded in part: kept.
		w.alice.must(201, "POST", "/api/v1/orders", withCoupons(directBuy(w.aliceAddr.ID, w.skuA, 1), cFixed.ID), &o)
		w.payFor(w.alice, &o)
		w.finance.must(201, "POST", "/admin/api/v1/orders/"+o.ID+"/refunds", map[string]any{"all": true, "reason": "缺货"}, nil)
		w.settle()
		if s := w.couponState(w.alice, cFixed.ID); s != coupon.Available {
			t.Fatalf("after a full refund: %s", s)
		}
		w.alice.must(201, "POST", "/api/v1/orders", withCoupons(directBuy(w.aliceAddr.ID, w.skuA, 3), cThreshold.ID), &o)
		if o.Discount != 3*600+1000 {
			t.Fatalf("threshold order: %+v", o)
		}
		w.payFor(w.alice, &o)
		w.finance.must(201, "POST", "/admin/api/v1/orders/"+o.ID+"/refunds", map[string]any{
			"lines": []map[string]any{{"order_line_id": o.Lines[0].ID, "qty": 1}}, "reason": "破损"}, nil)
		w.settle()
		if s := w.couponState(w.alice, cThreshold.ID); s != coupon.Used {
			t.Fatalf("after a partial refund: %s", s)
		}

		// Recall: issued by the operator, within its budget.
		var res coupon.IssueResult
		w.operator.must(200, "POST", "/admin/api/v1/coupon-templates/"+recall.ID+"/issue",
			map[string]any{"buyer_ids": []string{o.BuyerID, o.BuyerID}}, &res)
		if len(res.Issued) != 1 || len(res.Refused) != 0 {
			t.Fatalf("issue: %+v", res)
		}
		w.operator.must(200, "POST", "/admin/api/v1/coupon-templates/"+recall.ID+"/issue",
			map[string]any{"buyer_ids": []string{o.BuyerID}}, &res)
		if len(res.Refused) != 1 || res.Refused[0].Code != "coupon_limit_reached" {
			t.Fatalf("issue again: %+v", res)
		}

		// Ended: no more claims; expired: no more use.
		var ended coupon.Template
		w.operator.must(200, "POST", "/admin/api/v1/coupon-templates/"+free.ID+"/end", nil, &ended)
		if ended.Status != coupon.Ended {
			t.Fatalf("end: %+v", ended)
		}
		if r := w.bob.do("POST", "/api/v1/coupon-templates/"+free.ID+"/claim", nil); r.Status != 409 || r.problem(t).Code != "coupon_template_ended" {
			t.Fatalf("claim after end: %d %s", r.Status, r.Body)
		}
		w.app.Clock.Advance(8 * 24 * time.Hour)
		w.alice = w.buyerLogin("alice") // the sessions expired too
		w.operator = w.operatorLogin("operator@shop.example")
		if r := w.alice.do("POST", "/api/v1/orders", withCoupons(directBuy(w.aliceAddr.ID, w.skuA, 1), cFixed.ID)); r.Status != 409 || r.problem(t).Code != "coupon_expired" {
			t.Fatalf("an expired coupon: %d %s", r.Status, r.Body)
		}
		var expired coupon.CouponPage
		w.alice.must(200, "GET", "/api/v1/coupons?state=expired", nil, &expired)
		if len(expired.Coupons) == 0 {
			t.Fatal("no expired coupon listed")
		}

		var tpl coupon.Template
		w.operator.must(200, "GET", "/admin/api/v1/coupon-templates/"+fixed.ID, nil, &tpl)
		if tpl.Issued != 2 || tpl.Spent != 0 {
			t.Fatalf("fixed template after restores: %+v", tpl)
		}
		var page coupon.TemplatePage
		w.operator.must(200, "GET", "/admin/api/v1/coupon-templates?issue_mode=recall&status=active", nil, &page)
		if len(page.Templates) != 1 {
			t.Fatalf("recall templates: %+v", page)
		}
	})
}

func hasAdjustment(o order.Order, ref string, amount money.Fen) bool {
	var sum money.Fen
	for _, l := range o.Lines {
		for _, a := range l.Adjustments {
			if a.Step == pricing.StepCoupon && a.Ref == ref {
				sum += a.Amount
			}
		}
	}
	return sum == amount
}

// payFor pays a placed order through the pay simulator.
func (w *world) payFor(c *client, o *order.Order) {
	w.t.Helper()
	c.must(201, "POST", "/api/v1/orders/"+o.ID+"/payments", nil, nil)
	w.buyerPays(o.ID)
	c.must(200, "GET", "/api/v1/orders/"+o.ID, nil, o)
	if o.Status != order.Paid {
		w.t.Fatalf("order %s is %s after paying", o.ID, o.Status)
	}
}

func TestCouponBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		fixed := w.couponTemplate(nil)
		tpls := "/admin/api/v1/coupon-templates"
		cases := []struct {
			name   string
			c      *client
			method string
			path   string
			body   any
			status int
			code   string
		}{
			{"malformed JSON", w.operator, "POST", tpls, raw(`{"name":`), 400, "malformed_json"},
			{"unknown field", w.operator, "POST", tpls, map[string]any{"name": "x", "price": 1}, 400, "unknown_field"},
			{"wrong type", w.operator, "POST", tpls, map[string]any{"name": 5}, 400, "invalid_type"},
			{"every field error", w.operator, "POST", tpls, map[string]any{"name": "", "kind": "gift", "scope": "shop",
				"per_buyer_limit": 0, "quantity": 0, "issue_mode": "lottery", "valid_days": 400}, 400, "invalid_kind"},
			{"percent out of range", w.operator, "POST", tpls, map[string]any{"name": "x", "kind": "percent", "rate_bp": 10000, "cap": 1,
				"scope": "all", "valid_days": 1, "per_buyer_limit": 1, "quantity": 1, "issue_mode": "claim"}, 400, "rate_out_of_range"},
			{"threshold off above spend", w.operator, "POST", tpls, map[string]any{"name": "x", "kind": "threshold", "off": 900, "min_spend": 500,
				"scope": "all", "valid_days": 1, "per_buyer_limit": 1, "quantity": 1, "issue_mode": "claim"}, 400, "off_not_below_threshold"},
			{"bad time", w.operator, "POST", tpls, map[string]any{"name": "x", "kind": "fixed", "off": 1, "scope": "all",
				"valid_from": "tomorrow", "valid_until": "later", "per_buyer_limit": 1, "quantity": 1, "issue_mode": "claim"}, 400, "invalid_time"},
			{"finance may not", w.finance, "POST", tpls, map[string]any{}, 403, "forbidden"},
			{"no such template", w.operator, "GET", tpls + "/" + "0190a6c4-0000-7000-8000-000000000000", nil, 404, "coupon_template_not_found"},
			{"malformed id", w.operator, "POST", tpls + "/nope/end", nil, 404, "coupon_template_not_found"},
			{"bad filter", w.operator, "GET", tpls + "?status=open", nil, 400, "invalid_parameter"},
			{"bad limit", w.anon, "GET", "/api/v1/coupon-templates?limit=0", nil, 400, "invalid_parameter"},
			{"issue to a claim template", w.operator, "POST", tpls + "/" + fixed.ID + "/issue", map[string]any{"buyer_ids": []string{fixed.ID}}, 409, "coupon_not_issuable"},
			{"issue to nobody", w.operator, "POST", tpls + "/" + fixed.ID + "/issue", map[string]any{"buyer_ids": []string{}}, 400, "buyer_ids_out_of_range"},
			{"issue to a bad id", w.operator, "POST", tpls + "/" + fixed.ID + "/issue", map[string]any{"buyer_ids": []string{"x"}}, 400, "invalid_id"},
			{"claim without a session", w.anon, "POST", "/api/v1/coupon-templates/" + fixed.ID + "/claim", nil, 401, ""},
			{"claim of nothing", w.alice, "POST", "/api/v1/coupon-templates/nope/claim", nil, 404, "coupon_template_not_found"},
			{"bad state", w.alice, "GET", "/api/v1/coupons?state=lost", nil, 400, "invalid_parameter"},
			{"bad cursor", w.alice, "GET", "/api/v1/coupons?cursor=zzz", nil, 400, "invalid_cursor"},
			{"unknown parameter", w.alice, "GET", "/api/v1/cart/coupons?best=1", nil, 400, ""},
			{"bad coupon id", w.alice, "POST", "/api/v1/orders", withCoupons(directBuy(w.aliceAddr.ID, w.skuA, 1), "nope"), 400, "invalid_id"},
			{"empty coupon list", w.alice, "POST", "/api/v1/orders", withCoupons(directBuy(w.aliceAddr.ID, w.skuA, 1), []string{}...), 400, "coupon_stacking"},
		}
		for _, tc := range cases {
			r := tc.c.do(tc.method, tc.path, tc.body)
			if r.Status != tc.status || (tc.code != "" && !problemHas(r.problem(t), tc.code)) {
				t.Errorf("%s: got %d %s, want %d %s", tc.name, r.Status, r.Body, tc.status, tc.code)
			}
		}
	})
}

// problemHas reports whether the problem has code, alone or in its list.
func problemHas(p problem, code string) bool {
	if p.Code == code {
		return true
	}
	for _, e := range p.Errors {
		if e.Code == code {
			return true
		}
	}
	return false
}
