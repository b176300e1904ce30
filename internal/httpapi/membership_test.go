package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/membership"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

func tierBody(code, name string, threshold, discount int, products []string, free bool) map[string]any {
	if products == nil {
		products = []string{}
	}
	return map[string]any{"code": code, "name": name, "threshold": threshold, "discount_bp": discount,
		"product_ids": products, "free_shipping": free, "dedicated_service": free, "early_access": free}
}

func memberOff(o order.Order) money.Fen {
	var off money.Fen
	for _, l := range o.Lines {
		for _, a := range l.Adjustments {
			if a.Step == pricing.StepMember {
				off += a.Amount
			}
		}
	}
	return off
}

// TestMembership: the operator's program, a buyer moving up as they pay,
// the tier's discount at checkout on its products only, and the tier
// coming down as the window slides past their spending (fake clock).
func TestMembership(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		var p membership.Program
		w.finance.must(200, "GET", "/admin/api/v1/membership/program", nil, &p)
		if p.WindowDays != 365 || len(p.Tiers) != 3 || p.Tiers[1].DiscountBP != 0 {
			t.Fatalf("default program: %+v", p)
		}
		w.operator.must(200, "PUT", "/admin/api/v1/membership/program", map[string]any{"window_days": 30, "tiers": []any{
			tierBody("member", "会员", 0, 0, nil, false),
			tierBody("silver", "银卡", 3000, 1000, []string{w.product.ID}, false),
			tierBody("gold", "金卡", 100000, 0, nil, true),
		}}, &p)

		var m membership.Member
		w.alice.must(200, "GET", "/api/v1/membership", nil, &m)
		if m.Tier.Code != "member" || m.Growth != 0 || m.Next == nil || m.Next.Code != "silver" {
			t.Fatalf("a new buyer: %+v", m)
		}
		a := w.paid(w.alice, w.aliceAddr.ID, w.skuA, 1) // 2799 with shipping
		w.settle()
		w.alice.must(200, "GET", "/api/v1/membership", nil, &m)
		if m.Tier.Code != "member" || m.Growth != 2799 {
			t.Fatalf("after 2799: %+v", m)
		}
		w.paid(w.alice, w.aliceAddr.ID, w.skuA, 1)
		w.settle()
		w.finance.must(200, "GET", "/admin/api/v1/buyers/"+a.BuyerID+"/membership", nil, &m)
		if m.Tier.Code != "silver" || m.Growth != 5598 {
			t.Fatalf("after 5598: %+v", m)
		}

		// Silver: 10% off the product's goods (2999 -> 300 off), at checkout only.
		var o order.Order
		w.alice.must(201, "POST", "/api/v1/orders", directBuy(w.aliceAddr.ID, w.skuB, 1), &o)
		if memberOff(o) != 300 || o.Total != 2999-300+800 {
			t.Fatalf("a silver order: %+v", o)
		}
		// Bob, with no spending, pays the full price for the same goods.
		w.bob.must(201, "POST", "/api/v1/orders", directBuy(w.bobAddr.ID, w.skuB, 1), &o)
		if memberOff(o) != 0 || o.Total != 2999+800 {
			t.Fatalf("a member's order: %+v", o)
		}

		// 31 days on, the spending is out of the window: the review moves
		// alice back down.
		w.app.Clock.Advance(31 * 24 * time.Hour)
		w.relogin()
		w.alice = w.buyerLogin("alice")
		if _, err := w.app.Members.Review(context.Background()); err != nil {
			t.Fatal(err)
		}
		w.finance.must(200, "GET", "/admin/api/v1/buyers/"+a.BuyerID+"/membership", nil, &m)
		if m.Tier.Code != "member" || m.Growth != 0 {
			t.Fatalf("after the window: %+v", m)
		}
		w.alice.must(201, "POST", "/api/v1/orders", directBuy(w.aliceAddr.ID, w.skuB, 1), &o)
		if memberOff(o) != 0 {
			t.Fatalf("a discount after the downgrade: %+v", o)
		}
	})
}

func TestMembershipBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		path := "/admin/api/v1/membership/program"
		prog := func(window int, tiers ...any) map[string]any {
			return map[string]any{"window_days": window, "tiers": tiers}
		}
		base := tierBody("member", "会员", 0, 0, nil, false)
		cases := []struct {
			name   string
			c      *client
			method string
			path   string
			body   any
			status int
			code   string
		}{
			{"malformed JSON", w.operator, "PUT", path, raw(`{"tiers":`), 400, "malformed_json"},
			{"unknown field", w.operator, "PUT", path, map[string]any{"window_days": 1, "levels": []any{}}, 400, "unknown_field"},
			{"window out of range", w.operator, "PUT", path, prog(0, base), 400, "out_of_range"},
			{"no tiers", w.operator, "PUT", path, prog(30), 400, "out_of_range"},
			{"first tier above 0", w.operator, "PUT", path, prog(30, tierBody("member", "会员", 5, 0, nil, false)), 400, "first_tier_threshold"},
			{"thresholds not rising", w.operator, "PUT", path, prog(30, base, tierBody("a", "A", 100, 0, nil, false),
				tierBody("b", "B", 100, 0, nil, false)), 400, "thresholds_not_rising"},
			{"the same code twice", w.operator, "PUT", path, prog(30, base, tierBody("member", "B", 100, 0, nil, false)), 400, "invalid_code"},
			{"discount over 50%", w.operator, "PUT", path, prog(30, base, tierBody("a", "A", 100, 5001, nil, false)), 400, "out_of_range"},
			{"finance may not set", w.finance, "PUT", path, prog(30, base), 403, "forbidden"},
			{"a malformed buyer id", w.operator, "GET", "/admin/api/v1/buyers/nope/membership", nil, 404, "buyer_not_found"},
			{"without a session", w.anon, "GET", "/api/v1/membership", nil, 401, ""},
		}
		for _, tc := range cases {
			r := tc.c.do(tc.method, tc.path, tc.body)
			if r.Status != tc.status || (tc.code != "" && !problemHas(r.problem(t), tc.code)) {
				t.Errorf("%s: got %d %s, want %d %s", tc.name, r.Status, r.Body, tc.status, tc.code)
			}
		}
	})
}
