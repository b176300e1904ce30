package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/membership"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func init() { register("membership", testMembership) }

// testMembership proves member tiers over simulated time: growth counts
// once per key within the window, tiers move up on spending and down on
// refunds and as the window slides past old spending, each change with
// exactly one tier_changed event, and the daily review finds the buyers
// above the lowest tier.
func testMembership(t *testing.T, open Opener) {
	w := newOrderWorld(t, open)
	ctx := context.Background()
	svc := &membership.Service{Store: w.s, Clock: w.clock}
	p, err := svc.Program(ctx)
	failOn(t, err)
	if p.WindowDays != 365 || len(p.Tiers) != 3 {
		t.Fatalf("default program: %+v", p)
	}
	b := ids.New()
	wantTier := func(code string, growth money.Fen) {
		t.Helper()
		m, err := svc.Member(ctx, b)
		failOn(t, err)
		if m.Tier.Code != code || m.Growth != growth {
			t.Fatalf("member = %s with %d, want %s with %d", m.Tier.Code, m.Growth, code, growth)
		}
	}
	grow := func(key string, amount money.Fen) {
		t.Helper()
		ok, err := w.s.AddGrowth(ctx, key, "", b, amount, w.clock.Now())
		failOn(t, err)
		if !ok {
			t.Fatalf("growth %s not added", key)
		}
	}
	wantTier("member", 0)
	grow("paid:1", 120000)
	if ok, _ := w.s.AddGrowth(ctx, "paid:1", "", b, 120000, w.clock.Now()); ok {
		t.Fatal("a growth key counted twice")
	}
	// A refund of an order that never counted (captured after close)
	// counts nothing.
	if ok, err := w.s.AddGrowth(ctx, "refund:x", "paid:none", b, -50000, w.clock.Now()); ok || err != nil {
		t.Fatalf("a refund of an order that never counted: %v %v", ok, err)
	}
	wantTier("silver", 120000)
	w.clock.Advance(100 * 24 * time.Hour)
	grow("paid:2", 400000)
	wantTier("gold", 520000)
	grow("refund:1", -30000)
	wantTier("silver", 490000)
	wantTier("silver", 490000) // nothing moved: no event

	// 400 days after the first order it no longer counts: 370000, silver.
	w.clock.Advance(300 * 24 * time.Hour)
	n, err := svc.Review(ctx)
	failOn(t, err)
	if n != 1 {
		t.Fatalf("review looked at %d buyers, want 1", n)
	}
	wantTier("silver", 370000)
	// 100 days more and nothing is in the window: the review moves it down.
	w.clock.Advance(100 * 24 * time.Hour)
	if _, err := svc.Review(ctx); err != nil {
		t.Fatal(err)
	}
	tier, err := w.s.MemberTier(ctx, b)
	failOn(t, err)
	if tier != "member" {
		t.Fatalf("after the window slid past: %s", tier)
	}
	above, err := w.s.MembersAbove(ctx, "member", "", 10)
	failOn(t, err)
	if len(above) != 0 {
		t.Fatalf("members above the lowest: %v", above)
	}
	if got := w.topics(t, b)[membership.TopicTierChanged]; got != 4 {
		t.Fatalf("%d tier_changed events, want 4 (up, up, down, down)", got)
	}

	// A program the operator sets is read back as set.
	p.Tiers[1].Threshold = 50000
	_, err = svc.SetProgram(ctx, p)
	failOn(t, err)
	got, err := svc.Program(ctx)
	failOn(t, err)
	if got.Tiers[1].Threshold != 50000 {
		t.Fatalf("program: %+v", got)
	}
}
