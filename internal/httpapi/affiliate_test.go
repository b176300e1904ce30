package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/identity"
)

func affiliateProgramBody(autoApprove bool, tiers int, rates ...int) map[string]any {
	return map[string]any{
		"auto_approve": autoApprove, "binding": "first_touch_expiring", "bind_days": 30, "tiers": tiers, "rates": rates,
		"max_share": 3000, "self_purchase": false, "activities": map[string]bool{"group_buy": false}, "settle_days": 7,
		"withdrawals": map[string]any{"min": 100, "daily_count": 3, "daily_amount": 200000, "auto_approve_under": 0},
	}
}

// TestAffiliateFlow: through the API, an operator sets the program and
// approves a promoter, a buyer binds by invite code and buys, the promoter
// sees the commission and their masked team, the order settles after the
// window, the promoter withdraws (finance approves one and rejects
// another), and the liability matches the ledger.
func TestAffiliateFlow(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		var prog affiliate.Program
		w.operator.must(200, "PUT", "/admin/api/v1/affiliate/program", affiliateProgramBody(false, 2, 1000, 500), &prog)
		w.finance.must(200, "GET", "/admin/api/v1/affiliate/program", nil, &prog)
		if prog.Tiers != 2 || prog.AutoApprove {
			t.Fatalf("program %+v", prog)
		}
		// A third tier needs the owner's sign-off, which only the owner gives.
		if p := w.operator.must(400, "PUT", "/admin/api/v1/affiliate/program", affiliateProgramBody(false, 3, 800, 400, 200), nil).problem(t); !p.hasField("tiers") {
			t.Fatalf("third tier: %+v", p)
		}
		w.operator.must(403, "POST", "/admin/api/v1/affiliate/tier3-signoff", map[string]any{}, nil)
		var so affiliate.SignOff
		w.owner.must(201, "POST", "/admin/api/v1/affiliate/tier3-signoff", map[string]any{}, &so)
		w.operator.must(200, "PUT", "/admin/api/v1/affiliate/program", affiliateProgramBody(false, 3, 800, 400, 200), &prog)
		if prog.TierSignOff == nil || prog.TierSignOff.AuditID != so.AuditID {
			t.Fatalf("sign-off %+v", prog.TierSignOff)
		}
		w.operator.must(200, "PUT", "/admin/api/v1/affiliate/program", affiliateProgramBody(false, 2, 1000, 500), &prog)

		var alice affiliate.Promoter
		w.alice.must(200, "POST", "/api/v1/affiliate/promoter", map[string]any{}, &alice)
		if alice.Status != affiliate.Applied {
			t.Fatalf("applied %+v", alice)
		}
		var page affiliate.PromoterPage
		w.finance.must(200, "GET", "/admin/api/v1/affiliate/promoters?status=applied", nil, &page)
		if len(page.Promoters) != 1 || page.Promoters[0].ID != alice.ID {
			t.Fatalf("applicants %+v", page)
		}
		w.operator.must(200, "POST", "/admin/api/v1/affiliate/promoters/"+alice.ID+"/approve", map[string]any{"note": "ok"}, &alice)
		carol := w.buyerLogin("carol")
		var c affiliate.Promoter
		carol.must(200, "POST", "/api/v1/affiliate/promoter", map[string]any{}, &c)
		w.operator.must(200, "POST", "/admin/api/v1/affiliate/promoters/"+c.ID+"/reject", map[string]any{}, &c)
		if c.Status != affiliate.Rejected || alice.Status != affiliate.Approved {
			t.Fatalf("decisions %+v %+v", alice, c)
		}
		w.operator.must(409, "POST", "/admin/api/v1/affiliate/promoters/"+c.ID+"/approve", map[string]any{}, nil)

		var bound map[string]any
		w.bob.must(200, "POST", "/api/v1/affiliate/bindings", map[string]any{"invite_code": alice.InviteCode}, &bound)
		if bound["changed"] != true || bound["bound_to"] != affiliate.Mask(alice.ID) {
			t.Fatalf("bound %v", bound)
		}
		if p := w.alice.must(409, "POST", "/api/v1/affiliate/bindings", map[string]any{"invite_code": alice.InviteCode}, nil).problem(t); p.Code != "affiliate_self_binding" {
			t.Fatalf("self %+v", p)
		}
		o := w.paid(w.bob, w.bobAddr.ID, w.skuA, 2)
		var cs affiliate.CommissionPage
		w.alice.must(200, "GET", "/api/v1/affiliate/commissions?limit=10", nil, &cs)
		if len(cs.Commissions) != 1 || cs.Commissions[0].OrderID != o.ID || cs.Commissions[0].State != affiliate.Pending {
			t.Fatalf("commissions %+v", cs)
		}
		var team map[string][]map[string]any
		w.alice.must(200, "GET", "/api/v1/affiliate/team?tier=1", nil, &team)
		if len(team["items"]) != 1 || team["items"][0]["member"] == "" || team["items"][0]["buyer_id"] != nil {
			t.Fatalf("team %v", team)
		}
		w.bob.must(200, "GET", "/api/v1/affiliate/team?tier=2", nil, nil)

		w.operator.must(200, "POST", "/admin/api/v1/orders/"+o.ID+"/ship", map[string]any{"carrier": "顺丰", "tracking_no": "SF12345678"}, nil)
		w.bob.must(200, "POST", "/api/v1/orders/"+o.ID+"/confirm-receipt", nil, nil)
		w.settle()
		w.app.Clock.Advance(8 * 24 * time.Hour)
		w.settle()
		// Sessions ran out meanwhile.
		w.alice, w.bob = w.buyerLogin("alice"), w.buyerLogin("bob")
		w.operator, w.finance = w.operatorLogin("operator@shop.example"), w.operatorLogin("finance@shop.example")
		var me struct {
			Earnings affiliate.Earnings `json:"earnings"`
		}
		w.alice.must(200, "GET", "/api/v1/affiliate/me", nil, &me)
		if me.Earnings.Available != cs.Commissions[0].Amount || me.Earnings.Pending != 0 {
			t.Fatalf("earnings %+v", me.Earnings)
		}
		w.bob.must(200, "GET", "/api/v1/affiliate/me", nil, nil)

		var wd affiliate.Withdrawal
		body := map[string]any{"amount": 100}
		w.alice.must(201, "POST", "/api/v1/affiliate/withdrawals", body, &wd, "Idempotency-Key", "wd-1")
		again := w.alice.must(201, "POST", "/api/v1/affiliate/withdrawals", body, nil, "Idempotency-Key", "wd-1")
		if again.Header.Get("Idempotent-Replayed") != "true" || wd.State != affiliate.WithdrawalRequested {
			t.Fatalf("replay %v, state %s", again.Header, wd.State)
		}
		var wd2 affiliate.Withdrawal
		w.alice.must(201, "POST", "/api/v1/affiliate/withdrawals", body, &wd2)
		var wpage affiliate.WithdrawalPage
		w.finance.must(200, "GET", "/admin/api/v1/affiliate/withdrawals?state=requested", nil, &wpage)
		if len(wpage.Withdrawals) != 2 {
			t.Fatalf("requested %+v", wpage)
		}
		w.operator.must(403, "POST", "/admin/api/v1/affiliate/withdrawals/"+wd.ID+"/approve", map[string]any{}, nil)
		w.finance.must(200, "POST", "/admin/api/v1/affiliate/withdrawals/"+wd.ID+"/approve", map[string]any{}, nil)
		w.finance.must(200, "POST", "/admin/api/v1/affiliate/withdrawals/"+wd2.ID+"/reject", map[string]any{"note": "duplicate"}, nil)
		w.settle()
		w.app.Clock.Advance(2 * time.Minute)
		w.settle()
		w.alice.must(200, "GET", "/api/v1/affiliate/withdrawals", nil, &wpage)
		states := map[string]affiliate.WithdrawalState{}
		for _, x := range wpage.Withdrawals {
			states[x.ID] = x.State
		}
		if states[wd.ID] != affiliate.WithdrawalSucceeded || states[wd2.ID] != affiliate.WithdrawalRejected {
			t.Fatalf("withdrawals %v", states)
		}

		var l affiliate.Liability
		w.finance.must(200, "GET", "/admin/api/v1/affiliate/liability", nil, &l)
		if !l.Matches || l.Available != cs.Commissions[0].Amount-100 {
			t.Fatalf("liability %+v", l)
		}
		var top map[string][]affiliate.PromoterStats
		w.operator.must(200, "GET", "/admin/api/v1/affiliate/top?limit=5", nil, &top)
		if len(top["items"]) == 0 || top["items"][0].PromoterID != alice.ID || top["items"][0].Downlines != 1 {
			t.Fatalf("top %+v", top)
		}
		w.finance.must(200, "GET", "/admin/api/v1/affiliate/suspicious", nil, nil)

		var rule affiliate.Rule
		w.operator.must(200, "PUT", "/admin/api/v1/affiliate/rules/product/"+w.product.ID, map[string]any{"rates": []int{1200, 300}}, &rule)
		var rules map[string][]affiliate.Rule
		w.finance.must(200, "GET", "/admin/api/v1/affiliate/rules", nil, &rules)
		if len(rules["items"]) != 1 || rules["items"][0].Rates[0] != 1200 {
			t.Fatalf("rules %+v", rules)
		}
		w.operator.must(204, "DELETE", "/admin/api/v1/affiliate/rules/product/"+w.product.ID, nil, nil)
		w.operator.must(404, "DELETE", "/admin/api/v1/affiliate/rules/product/"+w.product.ID, nil, nil)
	})
}

// TestAffiliateDeviceCluster: bindings keep the device they were made from,
// by invite code (the request's X-Device-Id) or by share link (the visit's);
// two downlines bound from one device are ordinary, a third makes the
// promoter suspicious with device_cluster.
func TestAffiliateDeviceCluster(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		w.operator.must(200, "PUT", "/admin/api/v1/affiliate/program", affiliateProgramBody(true, 1, 1000), nil)
		var alice affiliate.Promoter
		w.alice.must(200, "POST", "/api/v1/affiliate/promoter", map[string]any{}, &alice)
		var m shareMade
		w.alice.must(201, "POST", "/api/v1/shares", map[string]any{"target_kind": "product", "target_id": w.product.ID}, &m)
		login := func(user string) (*client, string) {
			var s struct {
				Token string          `json:"token"`
				Buyer *identity.Buyer `json:"buyer"`
			}
			w.anon.must(201, "POST", "/api/v1/sessions", map[string]string{"code": user + ".device"}, &s)
			return w.anon.as(s.Token), s.Buyer.ID
		}
		bind := func(c *client, device ...string) {
			t.Helper()
			var hdr []string
			if len(device) > 0 {
				hdr = []string{"X-Device-Id", device[0]}
			}
			c.must(200, "POST", "/api/v1/affiliate/bindings", map[string]any{"invite_code": alice.InviteCode}, nil, hdr...)
		}
		flagged := func() []string {
			t.Helper()
			var l struct {
				Items []affiliate.Suspicion `json:"items"`
			}
			w.finance.must(200, "GET", "/admin/api/v1/affiliate/suspicious", nil, &l)
			for _, s := range l.Items {
				if s.PromoterID == alice.ID {
					return s.Reasons
				}
			}
			return nil
		}

		one, oneID := login("one")
		two, _ := login("two")
		bind(one, " dev-shared ") // trimmed
		bind(two, "dev-shared")
		b, err := w.app.Store.Binding(context.Background(), oneID)
		if err != nil || b.DeviceID != "dev-shared" {
			t.Fatalf("stored binding %+v, %v; want it from dev-shared", b, err)
		}
		for _, user := range []string{"elsewhere", "unnamed"} {
			c, _ := login(user)
			if user == "elsewhere" {
				bind(c, "dev-other")
			} else {
				bind(c)
			}
		}
		if why := flagged(); why != nil {
			t.Fatalf("two downlines on one device flagged alice: %v", why)
		}
		if p := two.must(400, "POST", "/api/v1/affiliate/bindings", map[string]any{"invite_code": alice.InviteCode}, nil,
			"X-Device-Id", strings.Repeat("d", 129)).problem(t); p.Code != "invalid_device_id" || p.Field != "X-Device-Id" {
			t.Fatalf("a bad device: %+v", p)
		}

		// The third opens alice's link on the same device and buys: the
		// binding made at payment keeps the visit's device.
		three, _ := login("three")
		three.must(201, "POST", "/api/v1/share-visits", map[string]any{"token": m.Token, "scene": "share_card"}, nil,
			"X-Device-Id", "dev-shared")
		var addr identity.Address
		three.must(201, "POST", "/api/v1/addresses", addressBody("王五", "13700002222", "上城区解放路2号"), &addr)
		w.paid(three, addr.ID, w.skuA, 1)
		if why := flagged(); len(why) != 1 || why[0] != "device_cluster" {
			t.Fatalf("three downlines on one device: reasons %v, want [device_cluster]", why)
		}
		var top struct {
			Items []affiliate.PromoterStats `json:"items"`
		}
		w.operator.must(200, "GET", "/admin/api/v1/affiliate/top", nil, &top)
		if len(top.Items) != 1 || top.Items[0].DeviceClusters != 1 || top.Items[0].Downlines != 5 {
			t.Fatalf("top %+v; want alice with 5 downlines, 1 device cluster", top.Items)
		}
	})
}

// TestAffiliateBadInput: malformed, unknown, mistyped and out-of-range
// input is refused with the field named; unknown ids are 404; a buyer's
// routes only ever show their own.
func TestAffiliateBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		w.operator.must(200, "PUT", "/admin/api/v1/affiliate/program", affiliateProgramBody(true, 1, 1000), nil)
		w.alice.must(200, "POST", "/api/v1/affiliate/promoter", map[string]any{}, nil)
		for _, c := range []struct {
			name         string
			c            *client
			method, path string
			body         any
			status       int
			code, field  string
		}{
			{"malformed", w.alice, "POST", "/api/v1/affiliate/withdrawals", raw(`{"amount":`), 400, "malformed_json", ""},
			{"unknown field", w.alice, "POST", "/api/v1/affiliate/withdrawals", map[string]any{"amount": 100, "fee": 1}, 400, "unknown_field", "fee"},
			{"wrong type", w.alice, "POST", "/api/v1/affiliate/withdrawals", map[string]any{"amount": "100"}, 400, "invalid_type", "amount"},
			{"zero", w.alice, "POST", "/api/v1/affiliate/withdrawals", map[string]any{"amount": 0}, 400, "out_of_range", "amount"},
			{"over balance", w.alice, "POST", "/api/v1/affiliate/withdrawals", map[string]any{"amount": 500}, 400, "affiliate_insufficient_balance", "amount"},
			{"not a promoter", w.bob, "POST", "/api/v1/affiliate/withdrawals", map[string]any{"amount": 500}, 404, "affiliate_promoter_not_found", ""},
			{"apply with a fee", w.bob, "POST", "/api/v1/affiliate/promoter", map[string]any{"fee": 100}, 400, "unknown_field", "fee"},
			{"bad code", w.bob, "POST", "/api/v1/affiliate/bindings", map[string]any{"invite_code": "NOPE1234"}, 400, "affiliate_invite_code_invalid", "invite_code"},
			{"tier 3 team", w.alice, "GET", "/api/v1/affiliate/team?tier=3", nil, 400, "invalid_parameter", "tier"},
			{"unknown param", w.alice, "GET", "/api/v1/affiliate/commissions?promoter_id=x", nil, 400, "unknown_parameter", "promoter_id"},
			{"bad cursor", w.alice, "GET", "/api/v1/affiliate/withdrawals?cursor=abc", nil, 400, "invalid_cursor", "cursor"},
			{"rates over share", w.operator, "PUT", "/admin/api/v1/affiliate/rules/sku/" + w.skuA, map[string]any{"rates": []int{4000}}, 400, affiliate.CodeOverShare, "rates"},
			{"negative rate", w.operator, "PUT", "/admin/api/v1/affiliate/program", map[string]any{"binding": "first_touch", "tiers": 1, "rates": []int{-1}, "max_share": 3000, "settle_days": 7,
				"withdrawals": map[string]any{"min": 100, "daily_count": 3, "daily_amount": 1000, "auto_approve_under": 0}}, 400, "out_of_range", "rates[0]"},
			{"entry fee", w.operator, "PUT", "/admin/api/v1/affiliate/program", map[string]any{"entry_fee": 100}, 400, "unknown_field", "entry_fee"},
			{"unknown promoter", w.operator, "POST", "/admin/api/v1/affiliate/promoters/" + w.skuA + "/approve", map[string]any{}, 404, "affiliate_promoter_not_found", ""},
			{"bad promoter id", w.operator, "POST", "/admin/api/v1/affiliate/promoters/x/approve", map[string]any{}, 404, "affiliate_promoter_not_found", ""},
			{"unknown withdrawal", w.finance, "POST", "/admin/api/v1/affiliate/withdrawals/" + w.skuA + "/approve", map[string]any{}, 404, "affiliate_withdrawal_not_found", ""},
			{"bad rule scope", w.operator, "PUT", "/admin/api/v1/affiliate/rules/shop/" + w.skuA, map[string]any{"rates": []int{100}}, 404, "affiliate_rule_not_found", ""},
			{"bad state", w.finance, "GET", "/admin/api/v1/affiliate/withdrawals?state=lost", nil, 400, "invalid_parameter", "state"},
			{"reviewer", w.reviewer, "GET", "/admin/api/v1/affiliate/liability", nil, 403, "forbidden", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				p := c.c.must(c.status, c.method, c.path, c.body, nil).problem(t)
				if p.Code != c.code && !hasCode(p, c.code) {
					t.Fatalf("code %+v, want %s", p, c.code)
				}
				if c.field != "" && !p.hasField(c.field) {
					t.Fatalf("field %+v, want %s", p, c.field)
				}
			})
		}
	})
}

func hasCode(p problem, code string) bool {
	for _, e := range p.Errors {
		if e.Code == code {
			return true
		}
	}
	return false
}
