package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/points"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

func (w *world) myPoints(c *client) points.Account {
	w.t.Helper()
	var acc points.Account
	c.must(200, "GET", "/api/v1/points", nil, &acc)
	return acc
}

func (w *world) wantPoints(c *client, want int64) {
	w.t.Helper()
	if acc := w.myPoints(c); acc.Points != want || acc.Value != points.Value(want) {
		w.t.Fatalf("points = %d (value %d), want %d", acc.Points, acc.Value, want)
	}
}

func withPoints(body map[string]any, n int64) map[string]any {
	body["points"] = n
	return body
}

// pointsOff is what the points step took off an order.
func pointsOff(o order.Order) money.Fen {
	var off money.Fen
	for _, l := range o.Lines {
		for _, a := range l.Adjustments {
			if a.Step == pricing.StepPoints {
				off += a.Amount
			}
		}
	}
	return off
}

// TestPoints walks points end to end on each engine: the rules, earning on
// a paid order, a task award and a sign-in (each once), spending at
// checkout under the cap, the points back on cancel, the take-back and
// return of a full refund, expiry, and a sound ledger throughout.
func TestPoints(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		var cfg points.Config
		w.operator.must(200, "GET", "/admin/api/v1/points/config", nil, &cfg)
		if cfg != points.DefaultConfig {
			t.Fatalf("default config: %+v", cfg)
		}
		w.operator.must(200, "PUT", "/admin/api/v1/points/config", map[string]any{
			"earn_rate_bp": 1000, "sign_in_points": 2, "spend_cap_bp": 5000, "expiry_days": 30}, &cfg)
		w.finance.must(200, "GET", "/admin/api/v1/points/config", nil, &cfg)
		if cfg.EarnRate != 1000 || cfg.ExpiryDays != 30 {
			t.Fatalf("config: %+v", cfg)
		}

		// Paid 2999 + 800 shipping: 10% is 379.9 fen: 3 whole points.
		a := w.paid(w.alice, w.aliceAddr.ID, w.skuB, 1)
		w.settle()
		w.wantPoints(w.alice, 3)

		var m points.Movement
		grant := map[string]any{"buyer_id": a.BuyerID, "points": 20, "reason": "邀请好友", "key": "invite:1"}
		w.operator.must(201, "POST", "/admin/api/v1/points/grants", grant, &m)
		if r := w.operator.do("POST", "/admin/api/v1/points/grants", grant); r.Status != 409 || r.problem(t).Code != "points_granted" {
			t.Fatalf("second grant: %d %s", r.Status, r.Body)
		}
		w.alice.must(201, "POST", "/api/v1/points/sign-in", nil, &m)
		if r := w.alice.do("POST", "/api/v1/points/sign-in", nil); r.Status != 409 || r.problem(t).Code != "points_signed_in" {
			t.Fatalf("second sign-in: %d %s", r.Status, r.Body)
		}
		var acc points.Account
		w.finance.must(200, "GET", "/admin/api/v1/buyers/"+a.BuyerID+"/points", nil, &acc)
		if acc.Points != 25 || len(acc.Lots) != 3 || len(acc.History) != 3 {
			t.Fatalf("alice's points as finance sees them: %+v", acc)
		}

		// Spending: 40 is more than alice holds; 25 is under the cap
		// (half of 5998 is 29 points), so all 25 are spent.
		if r := w.alice.do("POST", "/api/v1/orders", withPoints(directBuy(w.aliceAddr.ID, w.skuB, 2), 40)); r.Status != 409 || r.problem(t).Code != "points_insufficient" {
			t.Fatalf("overspend: %d %s", r.Status, r.Body)
		}
		var b order.Order
		w.alice.must(201, "POST", "/api/v1/orders", withPoints(directBuy(w.aliceAddr.ID, w.skuB, 2), 25), &b)
		if pointsOff(b) != 2500 || b.Total != 5998-2500+800 {
			t.Fatalf("order with points: %+v", b)
		}
		w.wantPoints(w.alice, 0)
		// Cancelled unpaid: the points come back.
		w.alice.must(200, "POST", "/api/v1/orders/"+b.ID+"/cancel", nil, nil)
		w.app.Drain(t)
		w.wantPoints(w.alice, 25)

		// The cap: one skuA (1999) takes at most 9 points.
		var c order.Order
		w.alice.must(201, "POST", "/api/v1/orders", withPoints(directBuy(w.aliceAddr.ID, w.skuA, 1), 25), &c)
		if pointsOff(c) != 900 || c.Total != 1999-900+800 {
			t.Fatalf("capped order: %+v", c)
		}
		w.payFor(w.alice, &c)
		w.settle()
		// 16 left, plus 10% of 1899 paid (189.9 fen): 1 point.
		w.wantPoints(w.alice, 17)
		w.soundLedger()

		// Refunded in full: the point earned goes, the 9 spent come back.
		w.finance.must(201, "POST", "/admin/api/v1/orders/"+c.ID+"/refunds", map[string]any{"all": true, "reason": "缺货"}, nil)
		w.settle()
		w.wantPoints(w.alice, 25)
		w.soundLedger()

		// 31 days on, every lot has expired; the job books the breakage.
		w.app.Clock.Advance(31 * 24 * time.Hour)
		w.relogin()
		w.alice = w.buyerLogin("alice") // the sessions expired too
		w.wantPoints(w.alice, 0)
		n, err := w.app.Points.Expire(context.Background())
		if err != nil || n == 0 {
			t.Fatalf("expire: %d, %v", n, err)
		}
		acc = w.myPoints(w.alice)
		if acc.History[0].Kind != points.SourceExpire || len(acc.Lots) != 0 {
			t.Fatalf("after expiry: %+v", acc)
		}
		w.soundLedger()

		// Sign-ins turned off.
		w.operator.must(200, "PUT", "/admin/api/v1/points/config", map[string]any{
			"earn_rate_bp": 100, "sign_in_points": 0, "spend_cap_bp": 5000, "expiry_days": 365}, nil)
		if r := w.alice.do("POST", "/api/v1/points/sign-in", nil); r.Status != 409 || r.problem(t).Code != "points_sign_in_off" {
			t.Fatalf("sign-in turned off: %d %s", r.Status, r.Body)
		}
	})
}

func TestPointsBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		cfgPath := "/admin/api/v1/points/config"
		full := map[string]any{"earn_rate_bp": 100, "sign_in_points": 1, "spend_cap_bp": 5000, "expiry_days": 365}
		cases := []struct {
			name   string
			c      *client
			method string
			path   string
			body   any
			status int
			code   string
		}{
			{"malformed JSON", w.operator, "PUT", cfgPath, raw(`{"earn_rate_bp":`), 400, "malformed_json"},
			{"unknown field", w.operator, "PUT", cfgPath, map[string]any{"earn_rate_bp": 1, "rate": 1}, 400, "unknown_field"},
			{"wrong type", w.operator, "PUT", cfgPath, map[string]any{"earn_rate_bp": "1%"}, 400, "invalid_type"},
			{"a rule left out", w.operator, "PUT", cfgPath, map[string]any{"earn_rate_bp": 100}, 400, "required"},
			{"every rule out of range", w.operator, "PUT", cfgPath, map[string]any{"earn_rate_bp": 10001, "sign_in_points": -1,
				"spend_cap_bp": -5, "expiry_days": 0}, 400, "out_of_range"},
			{"finance may not set", w.finance, "PUT", cfgPath, full, 403, "forbidden"},
			{"finance may not grant", w.finance, "POST", "/admin/api/v1/points/grants", map[string]any{}, 403, "forbidden"},
			{"grant: every field wrong", w.operator, "POST", "/admin/api/v1/points/grants", map[string]any{"buyer_id": "x", "points": 0,
				"reason": "", "key": ""}, 400, "invalid_id"},
			{"grant: too many", w.operator, "POST", "/admin/api/v1/points/grants", map[string]any{"buyer_id": w.aliceAddr.ID,
				"points": points.MaxGrant + 1, "reason": "r", "key": "k"}, 400, "out_of_range"},
			{"grant: unknown field", w.operator, "POST", "/admin/api/v1/points/grants", map[string]any{"value": 1}, 400, "unknown_field"},
			{"a malformed buyer id", w.operator, "GET", "/admin/api/v1/buyers/nope/points", nil, 404, "buyer_not_found"},
			{"points without a session", w.anon, "GET", "/api/v1/points", nil, 401, ""},
			{"sign-in without a session", w.anon, "POST", "/api/v1/points/sign-in", nil, 401, ""},
			{"negative points", w.alice, "POST", "/api/v1/orders", withPoints(directBuy(w.aliceAddr.ID, w.skuA, 1), -1), 400, "points_out_of_range"},
			{"absurd points", w.alice, "POST", "/api/v1/orders", withPoints(directBuy(w.aliceAddr.ID, w.skuA, 1), 1e9), 400, "points_out_of_range"},
			{"points and a coupon", w.alice, "POST", "/api/v1/orders", withPoints(withCoupons(directBuy(w.aliceAddr.ID, w.skuA, 1),
				w.aliceAddr.ID), 1), 400, "points_with_coupon"},
			{"points as text", w.alice, "POST", "/api/v1/orders", map[string]any{"lines": []map[string]any{{"sku_id": w.skuA, "qty": 1}},
				"address_id": w.aliceAddr.ID, "points": "10"}, 400, "invalid_type"},
		}
		for _, tc := range cases {
			r := tc.c.do(tc.method, tc.path, tc.body)
			if r.Status != tc.status || (tc.code != "" && !problemHas(r.problem(t), tc.code)) {
				t.Errorf("%s: got %d %s, want %d %s", tc.name, r.Status, r.Body, tc.status, tc.code)
			}
		}
	})
}
