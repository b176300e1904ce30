package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/compliance"
	"github.com/siyu-commerce/siyu/internal/groupbuy"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/refund"
	"github.com/siyu-commerce/siyu/internal/wechat/sandbox"
)

// The group buy scenarios, through the API as the mini program and the
// console would call it, with the pay simulator playing WeChat Pay.

// gbTeam is the team view of the buyer API.
type gbTeam struct {
	ID            string              `json:"id"`
	Status        groupbuy.TeamStatus `json:"status"`
	Capacity      int                 `json:"capacity"`
	Taken         int                 `json:"taken"`
	Paid          int                 `json:"paid"`
	SeatsLeft     int                 `json:"seats_left"`
	ExpiresAt     *time.Time          `json:"expires_at"`
	CurrentPrice  money.Fen           `json:"current_price"`
	NextSeatPrice money.Fen           `json:"next_seat_price"`
	FinalSize     int                 `json:"final_size"`
	FinalPrice    money.Fen           `json:"final_price"`
	Members       []map[string]any    `json:"members"`
}

type gbSeatMade struct {
	Team  gbTeam      `json:"team"`
	Order order.Order `json:"order"`
}

type gbMember struct {
	c    *client
	addr string
}

// gbBody is a group buy of skuA (sale 1999) that passes every compliance
// check: teams of 3, tiers 2 -> 1799 and 3 -> 1599, running 5 days from now.
func (w *world) gbBody(change func(b map[string]any)) map[string]any {
	now := w.app.Clock.Now()
	b := map[string]any{
		"title":        "龙井三人团",
		"rules":        "三人成团，24 小时内未成团自动全额退款；成团价更低时自动退还差价。",
		"share_notice": "好友参与活动可能需要付费",
		"starts_at":    now.Add(-time.Minute).Format(time.RFC3339),
		"ends_at":      now.Add(5 * 24 * time.Hour).Format(time.RFC3339),
		"team_size":    3,
		"items": []map[string]any{{"sku_id": w.skuA, "quota": 100,
			"tiers": []map[string]any{{"size": 2, "price": 1799}, {"size": 3, "price": 1599}}}},
	}
	if change != nil {
		change(b)
	}
	return b
}

// liveGroupBuy sets a group buy up as an operator and has the reviewer
// publish it.
func (w *world) liveGroupBuy(change func(b map[string]any)) groupbuy.Activity {
	w.t.Helper()
	var gb groupbuy.Activity
	w.operator.must(201, "POST", "/admin/api/v1/group-buys", w.gbBody(change), &gb)
	w.reviewer.must(200, "POST", "/admin/api/v1/group-buys/"+gb.ID+"/publish", nil, &gb)
	if gb.Status != groupbuy.Published {
		w.t.Fatalf("published: %+v", gb)
	}
	return gb
}

func (w *world) member(name string) gbMember {
	w.t.Helper()
	c := w.buyerLogin(name)
	var addr struct {
		ID string `json:"id"`
	}
	c.must(201, "POST", "/api/v1/addresses", addressBody("王五", "13700001111", "文一路 "+name+" 号"), &addr)
	return gbMember{c, addr.ID}
}

func (w *world) openTeam(m gbMember, gb groupbuy.Activity, qty int) gbSeatMade {
	w.t.Helper()
	var s gbSeatMade
	m.c.must(201, "POST", "/api/v1/group-buys/"+gb.ID+"/teams", map[string]any{"sku_id": w.skuA, "qty": qty, "address_id": m.addr}, &s)
	return s
}

func (w *world) joinTeam(m gbMember, teamID string, qty int) gbSeatMade {
	w.t.Helper()
	var s gbSeatMade
	m.c.must(201, "POST", "/api/v1/teams/"+teamID+"/members", map[string]any{"qty": qty, "address_id": m.addr}, &s)
	return s
}

// payOrder has the member pay an order through the simulator, with faults
// on its callbacks, and lets everything settle.
func (w *world) payOrder(m gbMember, orderID string, f sandbox.Faults) {
	w.t.Helper()
	m.c.must(201, "POST", "/api/v1/orders/"+orderID+"/payments", nil, nil)
	if f != (sandbox.Faults{}) {
		w.app.PaySandbox.Inject(payment.OutTradeNo(orderID), f)
	}
	if err := w.app.PaySandbox.PayOrder(payment.OutTradeNo(orderID)); err != nil {
		w.t.Fatalf("the simulated buyer pays: %v", err)
	}
	w.settle()
}

func (w *world) team(id string) gbTeam {
	w.t.Helper()
	var t gbTeam
	w.anon.must(200, "GET", "/api/v1/teams/"+id, nil, &t)
	return t
}

func (w *world) orderOf(m gbMember, id string) order.Order {
	w.t.Helper()
	var o order.Order
	m.c.must(200, "GET", "/api/v1/orders/"+id, nil, &o)
	return o
}

// refundsOf lists an order's refunds. It reads the store: finance's
// listing of a price adjustment (a refund line of 0 units) does not pass
// the shared RefundLine schema yet, which wants at least 1 unit.
func (w *world) refundsOf(orderID string) []refund.Refund {
	w.t.Helper()
	page, err := w.app.Store.Refunds(context.Background(), refund.RefundFilter{OrderID: orderID, Limit: 100})
	if err != nil {
		w.t.Fatal(err)
	}
	return page.Refunds
}

// passTime moves the clock in steps, settling after each: jobs due at
// different times (reconciliations, deadlines, refund checks) run in turn.
func (w *world) passTime(d time.Duration, steps int) {
	w.t.Helper()
	for range steps {
		w.app.Clock.Advance(d / time.Duration(steps))
		w.settle()
	}
	// Operators' sessions last 12 hours: they sign in again.
	w.owner = w.operatorLogin(string(identity.Owner) + "@shop.example")
	w.operator = w.operatorLogin(string(identity.Operator) + "@shop.example")
	w.finance = w.operatorLogin(string(identity.Finance) + "@shop.example")
	w.reviewer = w.operatorLogin(string(identity.Reviewer) + "@shop.example")
}

func (w *world) ship(orderID string, want int) {
	w.t.Helper()
	w.operator.must(want, "POST", "/admin/api/v1/orders/"+orderID+"/ship",
		map[string]any{"carrier": "顺丰", "tracking_no": "SF" + strings.ReplaceAll(orderID[:8], "-", "")}, nil)
}

// TestGroupBuyFills: a team of 3 fills. Every order is released and ships;
// the leader and the first member, who paid the 2-person tier, get the
// difference to the 3-person tier back as a price adjustment (the sale
// stands); the totals and the ledger add up.
func TestGroupBuyFills(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		gb := w.liveGroupBuy(nil)
		var pub map[string]any
		w.anon.must(200, "GET", "/api/v1/group-buys/"+gb.ID, nil, &pub)
		if pub["share_notice"] != "好友参与活动可能需要付费" || pub["items"].([]any)[0].(map[string]any)["left"] != 100.0 {
			t.Fatalf("public group buy = %v", pub)
		}
		alice := gbMember{w.alice, w.aliceAddr.ID}
		bob := gbMember{w.bob, w.bobAddr.ID}
		carol := w.member("carol")

		opened := w.openTeam(alice, gb, 1)
		if opened.Team.Status != groupbuy.TeamPending || opened.Order.Total != 1799+800 || !opened.Order.Held {
			t.Fatalf("opened = %+v", opened)
		}
		teamID := opened.Team.ID
		// Not joinable before its leader pays.
		r := bob.c.do("POST", "/api/v1/teams/"+teamID+"/members", map[string]any{"qty": 1, "address_id": bob.addr})
		if p := r.problem(t); r.Status != 409 || p.Code != "team_not_open" {
			t.Fatalf("join a pending team: %d %s", r.Status, r.Body)
		}
		w.payOrder(alice, opened.Order.ID, sandbox.Faults{})
		if tm := w.team(teamID); tm.Status != groupbuy.TeamOpen || tm.Paid != 1 || tm.NextSeatPrice != 1799 || tm.ExpiresAt == nil {
			t.Fatalf("after the leader paid: %+v", tm)
		}
		var joinable struct {
			Items []gbTeam `json:"items"`
		}
		w.anon.must(200, "GET", "/api/v1/group-buys/"+gb.ID+"/teams?limit=10", nil, &joinable)
		if len(joinable.Items) != 1 || joinable.Items[0].ID != teamID || joinable.Items[0].SeatsLeft != 2 {
			t.Fatalf("joinable = %+v", joinable)
		}
		// The leader shares the team: it exists, so the share is made.
		w.alice.must(201, "POST", "/api/v1/shares", map[string]any{"target_kind": "team", "target_id": teamID, "activity_id": gb.ID}, nil)

		key := []string{"Idempotency-Key", "join-" + teamID}
		var bobSeat, again gbSeatMade
		bob.c.must(201, "POST", "/api/v1/teams/"+teamID+"/members", map[string]any{"qty": 1, "address_id": bob.addr}, &bobSeat, key...)
		bob.c.must(201, "POST", "/api/v1/teams/"+teamID+"/members", map[string]any{"qty": 1, "address_id": bob.addr}, &again, key...)
		if again.Order.ID != bobSeat.Order.ID || bobSeat.Order.Lines[0].Amount != 1799 || bobSeat.Team.Taken != 2 {
			t.Fatalf("bob's seat %+v; replayed %+v", bobSeat, again)
		}
		w.payOrder(bob, bobSeat.Order.ID, sandbox.Faults{})
		w.ship(bobSeat.Order.ID, 409) // held: the team is still forming

		carolSeat := w.joinTeam(carol, teamID, 1)
		if carolSeat.Order.Lines[0].Amount != 1599 || carolSeat.Team.SeatsLeft != 0 {
			t.Fatalf("carol's seat = %+v", carolSeat)
		}
		w.payOrder(carol, carolSeat.Order.ID, sandbox.Faults{})

		tm := w.team(teamID)
		if tm.Status != groupbuy.TeamSucceeded || tm.FinalSize != 3 || tm.FinalPrice != 1599 || tm.CurrentPrice != 1599 || len(tm.Members) != 3 {
			t.Fatalf("team = %+v", tm)
		}
		for _, m := range tm.Members {
			if len(m) != 2 || m["joined_at"] == nil { // leader and joined_at: nothing personal
				t.Fatalf("member = %v", m)
			}
		}
		for _, c := range []struct {
			m      gbMember
			id     string
			adjust money.Fen
		}{{alice, opened.Order.ID, 200}, {bob, bobSeat.Order.ID, 200}, {carol, carolSeat.Order.ID, 0}} {
			o := w.orderOf(c.m, c.id)
			if o.Held || o.Status != order.Paid {
				t.Fatalf("order %s: held %v, %s", c.id, o.Held, o.Status)
			}
			rs := w.refundsOf(c.id)
			if c.adjust == 0 && len(rs) != 0 || c.adjust > 0 && (len(rs) != 1 || rs[0].Source != refund.Adjustment ||
				rs[0].Amount != c.adjust || rs[0].State != refund.Succeeded || len(rs[0].Lines) != 1 || rs[0].Lines[0].Qty != 0) {
				t.Fatalf("order %s refunds: %+v", c.id, rs)
			}
			// What the buyer paid less what came back is the final tier plus shipping.
			if net := o.Total - c.adjust; net != 1599+800 {
				t.Fatalf("order %s: net %s", c.id, net)
			}
			w.ship(c.id, 200)
		}
		var admin struct {
			Team  groupbuy.Team   `json:"team"`
			Seats []groupbuy.Seat `json:"seats"`
		}
		w.operator.must(200, "GET", "/admin/api/v1/teams/"+teamID, nil, &admin)
		if len(admin.Seats) != 3 || admin.Seats[0].BuyerID != opened.Order.BuyerID || admin.Seats[2].UnitPrice != 1599 {
			t.Fatalf("admin team = %+v", admin)
		}
		var teams groupbuy.TeamPage
		w.operator.must(200, "GET", "/admin/api/v1/group-buys/"+gb.ID+"/teams?status=succeeded&limit=5", nil, &teams)
		if len(teams.Teams) != 1 {
			t.Fatalf("succeeded teams = %+v", teams)
		}
		w.soundLedger()
	})
}

// TestGroupBuyFails: a team of 3 gets only 2 paid members in its window. It
// fails, and both are refunded in full, exactly once each, though the
// simulator duplicates the leader's callbacks and drops the member's (the
// payment and the refund are then found by reconciliation).
func TestGroupBuyFails(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		gb := w.liveGroupBuy(func(b map[string]any) { b["per_buyer_limit"] = 2 })
		alice := gbMember{w.alice, w.aliceAddr.ID}
		bob := gbMember{w.bob, w.bobAddr.ID}
		stock := w.stockOf(w.skuA)

		opened := w.openTeam(alice, gb, 1)
		w.payOrder(alice, opened.Order.ID, sandbox.Faults{Duplicate: 4})
		joined := w.joinTeam(bob, opened.Team.ID, 2)
		w.payOrder(bob, joined.Order.ID, sandbox.Faults{Drop: true})

		w.passTime(25*time.Hour, 25)
		w.passTime(time.Hour, 6) // refund reconciliations for the dropped callbacks

		if tm := w.team(opened.Team.ID); tm.Status != groupbuy.TeamFailed || tm.Paid != 2 || tm.SeatsLeft != 0 {
			t.Fatalf("team = %+v", tm)
		}
		for _, c := range []struct {
			m  gbMember
			id string
		}{{alice, opened.Order.ID}, {bob, joined.Order.ID}} {
			o := w.orderOf(c.m, c.id)
			rs := w.refundsOf(c.id)
			if len(rs) != 1 || !rs[0].Full || rs[0].Amount != o.Total || rs[0].State != refund.Succeeded || o.Status != order.Refunded {
				t.Fatalf("order %s (%s): refunds %+v", c.id, o.Status, rs)
			}
		}
		if got := w.stockOf(w.skuA); got.OnHand != stock.OnHand || got.Reserved != stock.Reserved {
			t.Fatalf("stock %+v after the refunds; was %+v", got, stock)
		}
		var admin groupbuy.Activity
		w.operator.must(200, "GET", "/admin/api/v1/group-buys/"+gb.ID, nil, &admin)
		if admin.Items[0].Sold != 0 {
			t.Fatalf("the failed team still holds %d units of the quota", admin.Items[0].Sold)
		}
		w.soundLedger()
	})
}

// TestGroupBuyPaymentConfirmedAfterTheTeamEnded: the member pays seconds
// before the deadline but the platform's callback is lost; the team's end
// finds the payment (closing the order asks the platform), and the team,
// short of members, fails: that payment is refunded with the leader's. A
// member who never paid has their order closed and nothing refunded.
func TestGroupBuyPaymentConfirmedAfterTheTeamEnded(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		gb := w.liveGroupBuy(func(b map[string]any) {
			b["team_size"] = 4
			b["items"].([]map[string]any)[0]["tiers"] = []map[string]any{{"size": 4, "price": 1599}}
		})
		alice := gbMember{w.alice, w.aliceAddr.ID}
		bob := gbMember{w.bob, w.bobAddr.ID}
		carol := w.member("carol")
		opened := w.openTeam(alice, gb, 1)
		w.payOrder(alice, opened.Order.ID, sandbox.Faults{})
		deadline := *w.team(opened.Team.ID).ExpiresAt
		w.app.Clock.Advance(deadline.Sub(w.app.Clock.Now()) - 5*time.Minute)
		unpaid := w.joinTeam(carol, opened.Team.ID, 1)
		late := w.joinTeam(bob, opened.Team.ID, 1)
		if !late.Order.PayBy.Equal(deadline) {
			t.Fatalf("bob's order is to be paid by %v; the team's deadline is %v", late.Order.PayBy, deadline)
		}
		w.app.Clock.Advance(5*time.Minute - 3*time.Second)
		w.payOrder(bob, late.Order.ID, sandbox.Faults{Drop: true})
		if o := w.orderOf(bob, late.Order.ID); o.Status != order.PendingPayment {
			t.Fatalf("paid without a callback: %s", o.Status)
		}
		w.passTime(time.Hour, 12)

		if tm := w.team(opened.Team.ID); tm.Status != groupbuy.TeamFailed || tm.Paid != 2 {
			t.Fatalf("team = %+v", tm)
		}
		for _, c := range []struct {
			m  gbMember
			id string
		}{{alice, opened.Order.ID}, {bob, late.Order.ID}} {
			rs := w.refundsOf(c.id)
			if o := w.orderOf(c.m, c.id); len(rs) != 1 || !rs[0].Full || rs[0].State != refund.Succeeded || o.Status != order.Refunded {
				t.Fatalf("order %s (%s): refunds %+v", c.id, o.Status, rs)
			}
		}
		if o := w.orderOf(carol, unpaid.Order.ID); o.Status != order.Closed || len(w.refundsOf(o.ID)) != 0 {
			t.Fatalf("the unpaid member's order: %s", o.Status)
		}
		w.soundLedger()
	})
}

// TestGroupBuyThreshold: with a success threshold of 2, a team of 3 that
// has 2 paid members when its time runs out succeeds at the 2-person tier.
func TestGroupBuyThreshold(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		gb := w.liveGroupBuy(func(b map[string]any) { b["success_threshold"] = 2 })
		alice := gbMember{w.alice, w.aliceAddr.ID}
		bob := gbMember{w.bob, w.bobAddr.ID}
		opened := w.openTeam(alice, gb, 1)
		w.payOrder(alice, opened.Order.ID, sandbox.Faults{})
		joined := w.joinTeam(bob, opened.Team.ID, 1)
		w.payOrder(bob, joined.Order.ID, sandbox.Faults{})
		if tm := w.team(opened.Team.ID); tm.Status != groupbuy.TeamOpen {
			t.Fatalf("before the deadline: %+v", tm)
		}
		w.passTime(25*time.Hour, 5)
		if tm := w.team(opened.Team.ID); tm.Status != groupbuy.TeamSucceeded || tm.FinalSize != 2 || tm.FinalPrice != 1799 {
			t.Fatalf("team = %+v", tm)
		}
		for _, c := range []struct {
			m  gbMember
			id string
		}{{alice, opened.Order.ID}, {bob, joined.Order.ID}} {
			if o := w.orderOf(c.m, c.id); o.Held || o.Status != order.Paid || len(w.refundsOf(c.id)) != 0 {
				t.Fatalf("order %s: %+v", c.id, o)
			}
			w.ship(c.id, 200)
		}
		w.soundLedger()
	})
}

// TestGroupBuyLeaderBenefits: the leader price is charged at once and
// stays; a free leader pays the tier, and gets the goods' price back as a
// price adjustment when the team succeeds (shipping is still paid; the
// goods still ship). Both are funded on the ledger through the refund path.
func TestGroupBuyLeaderBenefits(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		for _, c := range []struct {
			leader      map[string]any
			tier        money.Fen
			leaderPays  money.Fen
			leaderGives money.Fen
		}{
			{map[string]any{"kind": "price", "price": 1500}, 1599, 1500, 0},
			{map[string]any{"kind": "free"}, 599, 599, 599}, // 599 is within 30% of 1999
		} {
			t.Run(c.leader["kind"].(string), func(t *testing.T) {
				gb := w.liveGroupBuy(func(b map[string]any) {
					b["team_size"], b["leader"] = 2, c.leader
					b["items"].([]map[string]any)[0]["tiers"] = []map[string]any{{"size": 2, "price": c.tier}}
				})
				leader, member := w.member("leader"+c.leader["kind"].(string)), w.member("member"+c.leader["kind"].(string))
				opened := w.openTeam(leader, gb, 1)
				if opened.Order.Lines[0].Amount != c.leaderPays {
					t.Fatalf("the leader is charged %s", opened.Order.Lines[0].Amount)
				}
				w.payOrder(leader, opened.Order.ID, sandbox.Faults{})
				joined := w.joinTeam(member, opened.Team.ID, 1)
				w.payOrder(member, joined.Order.ID, sandbox.Faults{})
				if tm := w.team(opened.Team.ID); tm.Status != groupbuy.TeamSucceeded || tm.FinalPrice != c.tier {
					t.Fatalf("team = %+v", tm)
				}
				rs := w.refundsOf(opened.Order.ID)
				switch {
				case c.leaderGives == 0 && len(rs) != 0:
					t.Fatalf("the leader price was adjusted: %+v", rs)
				case c.leaderGives > 0 && (len(rs) != 1 || rs[0].Source != refund.Adjustment || rs[0].Amount != c.leaderGives || rs[0].State != refund.Succeeded):
					t.Fatalf("the free leader's refunds: %+v", rs)
				}
				if o := w.orderOf(leader, opened.Order.ID); o.Status != order.Paid || o.Held {
					t.Fatalf("the leader's order: %s held %v", o.Status, o.Held)
				}
				w.ship(opened.Order.ID, 200)
				w.ship(joined.Order.ID, 200)
				w.soundLedger()
			})
		}
	})
}

// TestGroupBuyCompliance: publishing refuses an activity that breaks the
// compliance lines, naming every failed check; the checks are readable at
// any time; once fixed, the reviewer publishes it. Operators cannot
// publish: the reviewer approves.
func TestGroupBuyCompliance(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		now := w.app.Clock.Now()
		var gb groupbuy.Activity
		w.operator.must(201, "POST", "/admin/api/v1/group-buys", w.gbBody(func(b map[string]any) {
			b["leader"] = map[string]any{"kind": "free"} // the leader's reward is the whole 1599 of 1999
			b["max_depth"] = 4
			b["ends_at"] = now.Add(8 * 24 * time.Hour).Format(time.RFC3339)
			b["rules"] = ""
			b["share_notice"] = "快来和我一起拼团！"
		}), &gb)
		var rep compliance.Report
		w.reviewer.must(200, "GET", "/admin/api/v1/group-buys/"+gb.ID+"/checks", nil, &rep)
		failed := map[string]bool{}
		for _, c := range rep.Checks {
			if !c.Passed {
				failed[c.Code] = true
			}
		}
		want := []string{compliance.CodeReward, compliance.CodeDepth, compliance.CodeDuration, compliance.CodeRules, compliance.CodeShareNotice}
		if rep.Passed || len(failed) != len(want) {
			t.Fatalf("report = %+v", rep)
		}
		w.operator.must(403, "POST", "/admin/api/v1/group-buys/"+gb.ID+"/publish", nil, nil)
		r := w.reviewer.do("POST", "/admin/api/v1/group-buys/"+gb.ID+"/publish", nil)
		p := r.problem(t)
		if r.Status != 400 || len(p.Errors) != len(want) {
			t.Fatalf("publish: %d %s", r.Status, r.Body)
		}
		for _, code := range want {
			if !p.hasField("checks." + code) {
				t.Errorf("the refusal does not name %s: %s", code, r.Body)
			}
		}
		// Buyers cannot see it, nor open a team.
		w.anon.must(404, "GET", "/api/v1/group-buys/"+gb.ID, nil, nil)
		w.alice.must(404, "POST", "/api/v1/group-buys/"+gb.ID+"/teams", map[string]any{"sku_id": w.skuA, "qty": 1, "address_id": w.aliceAddr.ID}, nil)

		w.operator.must(200, "PUT", "/admin/api/v1/group-buys/"+gb.ID, w.gbBody(func(b map[string]any) {
			b["leader"] = map[string]any{"kind": "price", "price": 1500}
		}), &gb)
		w.operator.must(200, "GET", "/admin/api/v1/group-buys/"+gb.ID+"/checks", nil, &rep)
		if !rep.Passed {
			t.Fatalf("fixed report = %+v", rep)
		}
		w.owner.must(200, "POST", "/admin/api/v1/group-buys/"+gb.ID+"/publish", nil, &gb)
		// Published, it is no longer edited.
		if r := w.operator.do("PUT", "/admin/api/v1/group-buys/"+gb.ID, w.gbBody(nil)); r.Status != 409 || r.problem(t).Code != "group_buy_not_draft" {
			t.Fatalf("edit a published group buy: %d %s", r.Status, r.Body)
		}
		var page groupbuy.ActivityPage
		w.reviewer.must(200, "GET", "/admin/api/v1/group-buys?status=published&limit=10", nil, &page)
		if len(page.Activities) != 1 || page.Activities[0].ID != gb.ID {
			t.Fatalf("published list = %+v", page)
		}
		// Ending it stops new teams; ending again changes nothing.
		w.operator.must(200, "POST", "/admin/api/v1/group-buys/"+gb.ID+"/end", nil, &gb)
		w.operator.must(200, "POST", "/admin/api/v1/group-buys/"+gb.ID+"/end", nil, &gb)
		r = w.alice.do("POST", "/api/v1/group-buys/"+gb.ID+"/teams", map[string]any{"sku_id": w.skuA, "qty": 1, "address_id": w.aliceAddr.ID})
		if r.Status != 409 || r.problem(t).Code != "activity_not_live" || gb.Status != groupbuy.Ended {
			t.Fatalf("open a team of an ended group buy: %d %s", r.Status, r.Body)
		}
	})
}

// TestGroupBuyBadInput sends what a careless or hostile client might to
// every group buy endpoint; each gets its clear error and changes nothing.
func TestGroupBuyBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		gb := w.liveGroupBuy(func(b map[string]any) { b["per_buyer_limit"] = 2 })
		alice := gbMember{w.alice, w.aliceAddr.ID}
		opened := w.openTeam(alice, gb, 1)
		pending := opened.Team.ID
		full := w.openTeam(gbMember{w.bob, w.bobAddr.ID}, gb, 1)
		w.payOrder(gbMember{w.bob, w.bobAddr.ID}, full.Order.ID, sandbox.Faults{})
		for _, name := range []string{"c1", "c2"} {
			w.joinTeam(w.member(name), full.Team.ID, 1)
		}
		lead := w.member("lead")
		spare := w.openTeam(lead, gb, 1)
		w.payOrder(lead, spare.Order.ID, sandbox.Faults{})
		carol := w.member("carol")
		unknown := "0190d7f6-0000-7000-8000-000000000000"
		draft := groupbuy.Activity{}
		w.operator.must(201, "POST", "/admin/api/v1/group-buys", w.gbBody(nil), &draft)

		seat := func(extra map[string]any) map[string]any {
			b := map[string]any{"sku_id": w.skuA, "qty": 1, "address_id": carol.addr}
			for k, v := range extra {
				if v == nil {
					delete(b, k)
				} else {
					b[k] = v
				}
			}
			return b
		}
		join := func(extra map[string]any) map[string]any {
			b := seat(extra)
			delete(b, "sku_id")
			return b
		}
		with := func(change func(b map[string]any)) map[string]any { return w.gbBody(change) }
		item := func(change func(it map[string]any)) func(b map[string]any) {
			return func(b map[string]any) { change(b["items"].([]map[string]any)[0]) }
		}
		openPath := "/api/v1/group-buys/" + gb.ID + "/teams"
		joinPath := "/api/v1/teams/" + full.Team.ID + "/members"
		cases := []struct {
			name        string
			c           *client
			method      string
			path        string
			body        any
			status      int
			code, field string
		}{
			{"open: malformed JSON", carol.c, "POST", openPath, raw(`{"qty":`), 400, "malformed_json", ""},
			{"open: unknown field", carol.c, "POST", openPath, seat(map[string]any{"team_id": pending}), 400, "unknown_field", "team_id"},
			{"open: a client price", carol.c, "POST", openPath, seat(map[string]any{"price": 1}), 400, "unknown_field", "price"},
			{"open: qty as a string", carol.c, "POST", openPath, seat(map[string]any{"qty": "1"}), 400, "invalid_type", "qty"},
			{"open: qty 0", carol.c, "POST", openPath, seat(map[string]any{"qty": 0}), 400, "qty_out_of_range", "qty"},
			{"open: qty 100", carol.c, "POST", openPath, seat(map[string]any{"qty": 100}), 400, "qty_out_of_range", "qty"},
			{"open: past the buyer limit", carol.c, "POST", openPath, seat(map[string]any{"qty": 3}), 409, "buyer_limit_reached", ""},
			{"open: bad sku", carol.c, "POST", openPath, seat(map[string]any{"sku_id": "x"}), 400, "invalid_id", "sku_id"},
			{"open: a SKU not in it", carol.c, "POST", openPath, seat(map[string]any{"sku_id": w.skuB}), 400, "sku_not_in_activity", "sku_id"},
			{"open: no address", carol.c, "POST", openPath, seat(map[string]any{"address_id": nil}), 400, "invalid_id", "address_id"},
			{"open: another buyer's address", carol.c, "POST", openPath, seat(map[string]any{"address_id": w.bobAddr.ID}), 404, "address_not_found", ""},
			{"open: long remark", carol.c, "POST", openPath, seat(map[string]any{"remark": strings.Repeat("茶", 201)}), 400, "too_long", "remark"},
			{"open: unknown group buy", carol.c, "POST", "/api/v1/group-buys/" + unknown + "/teams", seat(nil), 404, "group_buy_not_found", ""},
			{"open: malformed group buy id", carol.c, "POST", "/api/v1/group-buys/x/teams", seat(nil), 404, "group_buy_not_found", ""},
			{"open: a draft", carol.c, "POST", "/api/v1/group-buys/" + draft.ID + "/teams", seat(nil), 404, "group_buy_not_found", ""},
			{"open: no session", w.anon, "POST", openPath, seat(nil), 401, "unauthenticated", ""},
			{"open: an operator's token", w.operator, "POST", openPath, seat(nil), 401, "unauthenticated", ""},
			{"join: sku_id is not a field", carol.c, "POST", joinPath, seat(nil), 400, "unknown_field", "sku_id"},
			{"join: negative qty", carol.c, "POST", joinPath, join(map[string]any{"qty": -1}), 400, "qty_out_of_range", "qty"},
			{"join: qty as a fraction", carol.c, "POST", joinPath, join(map[string]any{"qty": 1.5}), 400, "invalid_type", "qty"},
			{"join: a full team", carol.c, "POST", joinPath, join(nil), 409, "team_full", ""},
			{"join: a pending team", carol.c, "POST", "/api/v1/teams/" + pending + "/members", join(nil), 409, "team_not_open", ""},
			{"join: one's own team", lead.c, "POST", "/api/v1/teams/" + spare.Team.ID + "/members", join(map[string]any{"address_id": lead.addr}), 409, "already_in_team", ""},
			{"join: unknown team", carol.c, "POST", "/api/v1/teams/" + unknown + "/members", join(nil), 404, "team_not_found", ""},
			{"join: malformed team id", carol.c, "POST", "/api/v1/teams/1%20OR%201=1/members", join(nil), 404, "team_not_found", ""},
			{"join: form body", carol.c, "POST", joinPath, raw(`qty=1`), 400, "malformed_json", ""},
			{"read: unknown team", w.anon, "GET", "/api/v1/teams/" + unknown, nil, 404, "team_not_found", ""},
			{"read: a draft", w.anon, "GET", "/api/v1/group-buys/" + draft.ID, nil, 404, "group_buy_not_found", ""},
			{"teams: bad limit", w.anon, "GET", openPath + "?limit=0", nil, 400, "invalid_parameter", "limit"},
			{"teams: unknown parameter", w.anon, "GET", openPath + "?status=open", nil, 400, "unknown_parameter", "status"},
			{"teams: forged cursor", w.anon, "GET", openPath + "?cursor=forged", nil, 400, "invalid_cursor", "cursor"},
			{"teams: unknown group buy", w.anon, "GET", "/api/v1/group-buys/" + unknown + "/teams", nil, 404, "group_buy_not_found", ""},
			{"admin: malformed JSON", w.operator, "POST", "/admin/api/v1/group-buys", raw(`{"title":`), 400, "malformed_json", ""},
			{"admin: unknown field", w.operator, "POST", "/admin/api/v1/group-buys", with(func(b map[string]any) { b["reward"] = 1 }), 400, "unknown_field", "reward"},
			{"admin: a float price", w.operator, "POST", "/admin/api/v1/group-buys", with(item(func(it map[string]any) {
				it["tiers"] = []map[string]any{{"size": 3, "price": 15.99}}
			})), 400, "invalid_type", "items.tiers.price"},
			{"admin: a bad time", w.operator, "POST", "/admin/api/v1/group-buys", with(func(b map[string]any) { b["starts_at"] = "tomorrow" }), 400, "invalid_time", "starts_at"},
			{"admin: team of 6", w.operator, "POST", "/admin/api/v1/group-buys", with(func(b map[string]any) { b["team_size"] = 6 }), 400, "out_of_range", "team_size"},
			{"admin: every field wrong", w.operator, "POST", "/admin/api/v1/group-buys", with(func(b map[string]any) {
				b["title"], b["team_hours"], b["per_buyer_limit"], b["items"] = "", 100, -1, []any{}
			}), 400, "validation_failed", "title"},
			{"admin: tier at the sale price", w.operator, "POST", "/admin/api/v1/group-buys", with(item(func(it map[string]any) {
				it["tiers"] = []map[string]any{{"size": 2, "price": 1999}, {"size": 3, "price": 1599}}
			})), 400, "tier_price_not_discount", "items[0].tiers[0].price"},
			{"admin: unknown SKU", w.operator, "POST", "/admin/api/v1/group-buys", with(item(func(it map[string]any) { it["sku_id"] = unknown })), 400, "sku_not_found", "items[0].sku_id"},
			{"admin: a leader price too high", w.operator, "POST", "/admin/api/v1/group-buys", with(func(b map[string]any) {
				b["leader"] = map[string]any{"kind": "price", "price": 1599}
			}), 400, "leader_price_not_lower", "leader.price"},
			{"admin: a buyer's token", w.alice, "POST", "/admin/api/v1/group-buys", w.gbBody(nil), 401, "unauthenticated", ""},
			{"admin: finance", w.finance, "POST", "/admin/api/v1/group-buys", w.gbBody(nil), 403, "forbidden", ""},
			{"admin: edit unknown", w.operator, "PUT", "/admin/api/v1/group-buys/" + unknown, w.gbBody(nil), 404, "group_buy_not_found", ""},
			{"admin: edit published", w.operator, "PUT", "/admin/api/v1/group-buys/" + gb.ID, w.gbBody(nil), 409, "group_buy_not_draft", ""},
			{"admin: publish twice", w.reviewer, "POST", "/admin/api/v1/group-buys/" + gb.ID + "/publish", nil, 409, "group_buy_not_draft", ""},
			{"admin: bad status", w.operator, "GET", "/admin/api/v1/group-buys?status=live", nil, 400, "invalid_parameter", "status"},
			{"admin: bad cursor", w.operator, "GET", "/admin/api/v1/group-buys?cursor=forged", nil, 400, "invalid_cursor", "cursor"},
			{"admin: bad team status", w.operator, "GET", "/admin/api/v1/group-buys/" + gb.ID + "/teams?status=won", nil, 400, "invalid_parameter", "status"},
			{"admin: teams of unknown", w.operator, "GET", "/admin/api/v1/group-buys/" + unknown + "/teams", nil, 404, "group_buy_not_found", ""},
			{"admin: unknown team", w.operator, "GET", "/admin/api/v1/teams/" + unknown, nil, 404, "team_not_found", ""},
			{"admin: checks of unknown", w.reviewer, "GET", "/admin/api/v1/group-buys/" + unknown + "/checks", nil, 404, "group_buy_not_found", ""},
		}
		var before groupbuy.Activity
		w.operator.must(200, "GET", "/admin/api/v1/group-buys/"+gb.ID, nil, &before)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				cl := &client{t: t, h: c.c.h, token: c.c.token}
				r := cl.do(c.method, c.path, c.body)
				if r.Status != c.status {
					t.Fatalf("got %d, want %d: %s", r.Status, c.status, r.Body)
				}
				p := r.problem(t)
				if p.Code != c.code || (c.field != "" && !p.hasField(c.field)) {
					t.Fatalf("got %s field %q %+v, want %s field %q", p.Code, p.Field, p.Errors, c.code, c.field)
				}
			})
		}
		var after groupbuy.Activity
		w.operator.must(200, "GET", "/admin/api/v1/group-buys/"+gb.ID, nil, &after)
		if after.Items[0].Sold != before.Items[0].Sold || w.orderCount(carol.c) != 0 {
			t.Fatalf("bad input changed something: sold %d -> %d, carol has %d orders", before.Items[0].Sold, after.Items[0].Sold, w.orderCount(carol.c))
		}
		// A repeated open with the same key is one team.
		key := []string{"Idempotency-Key", fmt.Sprintf("open-%s", gb.ID)}
		var first, second gbSeatMade
		carol.c.must(201, "POST", openPath, seat(nil), &first, key...)
		carol.c.must(201, "POST", openPath, seat(nil), &second, key...)
		if first.Team.ID != second.Team.ID || w.orderCount(carol.c) != 1 {
			t.Fatalf("a repeated open made %d orders", w.orderCount(carol.c))
		}
		if r := carol.c.do("POST", openPath, seat(map[string]any{"qty": 2}), key...); r.Status != 422 {
			t.Fatalf("the same key with another body: %d", r.Status)
		}
	})
}
