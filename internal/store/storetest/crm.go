package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/crm"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func init() { register("crm", testCRM) }

// crmWorld is the payment world with a way to pay orders outright.
type crmWorld struct {
	*paymentWorld
	skuID string
}

// paid places and captures n orders of one unit (1000 fen + 800 shipping)
// for buyer, a minute apart.
func (w *crmWorld) paid(t *testing.T, buyer string, n int) {
	t.Helper()
	ctx := context.Background()
	for range n {
		o := w.place(t, buyer, order.LineInput{SKUID: w.skuID, Qty: 1})
		if _, err := w.pay.Pay(ctx, buyer, o.ID); err != nil {
			t.Fatal(err)
		}
		w.gw.pay(payment.OutTradeNo(o.ID), w.clock.Now())
		tx, _ := w.gw.QueryPayment(ctx, payment.OutTradeNo(o.ID))
		if _, err := w.pay.Capture(ctx, tx); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(time.Minute)
	}
}

func (w *crmWorld) buyer(t *testing.T, name string) string {
	t.Helper()
	b, err := w.s.UpsertBuyer(context.Background(), "openid-crm-"+name, "", "", w.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return b.ID
}

func (w *crmWorld) profile(t *testing.T, buyer string) *crm.Row {
	t.Helper()
	p, err := w.s.CRMProfile(context.Background(), buyer)
	if err != nil {
		t.Fatalf("CRMProfile: %v", err)
	}
	return p
}

func (w *crmWorld) recompute(t *testing.T, r crm.Rules, buyer string) int {
	t.Helper()
	n, err := w.s.RecomputeCRM(context.Background(), r, w.clock.Now(), buyer)
	if err != nil {
		t.Fatalf("RecomputeCRM: %v", err)
	}
	return n
}

func testCRM(t *testing.T, open Opener) {
	ctx := context.Background()
	w := &crmWorld{paymentWorld: newPaymentWorld(t, open)}
	w.skuID = w.sku1(t)
	// Loyal from 8 orders' worth (8 x 1800 fen) in this test.
	rules := crm.DefaultRules
	rules.LoyalSpent = 8 * 1800

	t.Run("rules default, then saved", func(t *testing.T) {
		got, err := w.s.CRMRules(ctx)
		failOn(t, err)
		if got != crm.DefaultRules {
			t.Fatalf("CRMRules = %+v, want the defaults", got)
		}
		failOn(t, w.s.SaveCRMRules(ctx, rules))
		if got, _ = w.s.CRMRules(ctx); got != rules {
			t.Fatalf("CRMRules = %+v, want %+v", got, rules)
		}
	})

	// Ten buyers with 1..10 paid orders, the later ones ordering later;
	// one buyer with none.
	buyers := make([]string, 10)
	for i := range buyers {
		buyers[i] = w.buyer(t, fmt.Sprint(i))
	}
	for i, b := range buyers {
		w.paid(t, b, i+1)
	}
	fresh := w.buyer(t, "fresh")

	t.Run("quintiles: ten buyers, two per score, by rank", func(t *testing.T) {
		if n := w.recompute(t, rules, ""); n != 11 {
			t.Fatalf("moves = %d, want 11 (every buyer's first layer)", n)
		}
		for i, b := range buyers {
			p := w.profile(t, b)
			want := crm.Quintile(i+1, 10)
			if p.RFM != (crm.RFM{R: want, F: want, M: want}) {
				t.Fatalf("buyer %d: RFM = %+v, want %d each", i, p.RFM, want)
			}
			if p.Orders != i+1 || p.Spent != money.Fen(1800*(i+1)) {
				t.Fatalf("buyer %d: orders %d spent %d", i, p.Orders, p.Spent)
			}
		}
		if got := []int{crm.Quintile(1, 10), crm.Quintile(2, 10), crm.Quintile(3, 10), crm.Quintile(10, 10)}; fmt.Sprint(got) != "[1 1 2 5]" {
			t.Fatalf("Quintile boundaries = %v", got)
		}
		if p := w.profile(t, fresh); p.RFM != (crm.RFM{}) || p.Layer != crm.New || p.LastOrderAt != nil {
			t.Fatalf("fresh buyer = %+v, want new and unscored", p)
		}
		if p := w.profile(t, buyers[9]); p.Layer != crm.Loyal {
			t.Fatalf("10-order buyer is %s, want loyal", p.Layer)
		}
		if p := w.profile(t, buyers[0]); p.Layer != crm.Other {
			t.Fatalf("1-order buyer is %s, want other", p.Layer)
		}
		grid, err := w.s.CRMScoreCounts(ctx)
		failOn(t, err)
		total := 0
		for _, g := range grid {
			total += g.N
		}
		if total != 10 {
			t.Fatalf("scored buyers = %d, want 10", total)
		}
		counts, err := w.s.CRMLayerCounts(ctx)
		failOn(t, err)
		if counts[crm.Loyal] != 3 || counts[crm.New] != 1 || counts[crm.Other] != 7 {
			t.Fatalf("layer counts = %v", counts)
		}
	})

	t.Run("a recompute with nothing changed moves nobody", func(t *testing.T) {
		if n := w.recompute(t, rules, ""); n != 0 {
			t.Fatalf("moves = %d, want 0", n)
		}
	})

	t.Run("silence after 30 days without a login; a login moves one buyer back", func(t *testing.T) {
		w.clock.Advance(31 * 24 * time.Hour)
		w.recompute(t, rules, "")
		if p := w.profile(t, fresh); p.Layer != crm.Silent {
			t.Fatalf("fresh buyer is %s, want silent", p.Layer)
		}
		w.buyer(t, "fresh") // logs in again: last_login_at moves
		failOn(t, w.s.CreateSession(ctx, &identity.Session{ID: ids.New(), TokenHash: ids.New(), Kind: identity.KindBuyer,
			SubjectID: fresh, CreatedAt: w.clock.Now(), ExpiresAt: w.clock.Now().Add(time.Hour)}))
		if n := w.recompute(t, rules, fresh); n != 1 {
			t.Fatalf("one-buyer moves = %d, want 1", n)
		}
		p := w.profile(t, fresh)
		if p.Layer != crm.Other || p.VisitDays != 1 {
			t.Fatalf("fresh buyer after a login = %+v, want other with 1 visit day", p)
		}
		moves, err := w.s.CRMMoves(ctx, fresh)
		failOn(t, err)
		var path []crm.Layer
		for _, m := range moves {
			path = append(path, m.To)
		}
		if fmt.Sprint(path) != "[new silent other]" || moves[0].From != "" || moves[2].From != crm.Silent {
			t.Fatalf("moves = %+v", moves)
		}
		if !moves[2].At.Equal(w.clock.Now()) {
			t.Fatalf("move at %v, want %v", moves[2].At, w.clock.Now())
		}
	})

	t.Run("one buyer's new order is scored against the others", func(t *testing.T) {
		w.paid(t, fresh, 1)
		w.recompute(t, rules, fresh)
		// The most recent order of all (rank 11 of 11 by recency), one
		// order (rank 1 by frequency), the least spent (rank 1).
		if p := w.profile(t, fresh); p.RFM != (crm.RFM{R: crm.Quintile(11, 11), F: 1, M: 1}) {
			t.Fatalf("fresh buyer RFM = %+v", p.RFM)
		}
	})

	t.Run("segments, members and rule tags", func(t *testing.T) {
		now := w.clock.Now()
		seg := &crm.Segment{ID: ids.New(), Name: "big", Expr: "rfm.m >= 4", Tag: true, CreatedAt: now, UpdatedAt: now}
		failOn(t, w.s.CreateSegment(ctx, seg))
		dup := *seg
		dup.ID = ids.New()
		if err := w.s.CreateSegment(ctx, &dup); !errs.Is(err, "segment_name_taken") {
			t.Fatalf("duplicate name: %v", err)
		}
		failOn(t, w.s.ReplaceSegmentMembers(ctx, seg, []string{buyers[8], buyers[9]}))
		got, err := w.s.Segment(ctx, seg.ID)
		failOn(t, err)
		if got.Members != 2 || got.Expr != seg.Expr || !got.Tag || !got.CreatedAt.Equal(now) {
			t.Fatalf("Segment = %+v", got)
		}
		if p := w.profile(t, buyers[9]); fmt.Sprint(p.Tags) != "[big]" {
			t.Fatalf("rule tags = %v", p.Tags)
		}
		failOn(t, w.s.SetBuyerSegments(ctx, buyers[9], []crm.Segment{*seg}, []bool{false}))
		failOn(t, w.s.SetBuyerSegments(ctx, buyers[0], []crm.Segment{*seg}, []bool{true}))
		failOn(t, w.s.SetBuyerSegments(ctx, buyers[0], []crm.Segment{*seg}, []bool{true})) // again: no change
		if got, _ = w.s.Segment(ctx, seg.ID); got.Members != 2 {
			t.Fatalf("members = %d, want 2", got.Members)
		}
		if p := w.profile(t, buyers[9]); len(p.Tags) != 0 {
			t.Fatalf("tags after leaving = %v", p.Tags)
		}
		failOn(t, w.s.AddTag(ctx, buyers[9], "vip", now))
		failOn(t, w.s.AddTag(ctx, buyers[9], "vip", now))
		if p := w.profile(t, buyers[9]); fmt.Sprint(p.Tags) != "[vip]" {
			t.Fatalf("manual tags = %v", p.Tags)
		}
		failOn(t, w.s.RemoveTag(ctx, buyers[9], "vip"))
		failOn(t, w.s.RemoveTag(ctx, buyers[0], "big")) // a rule tag is not removed by hand
		if p := w.profile(t, buyers[0]); fmt.Sprint(p.Tags) != "[big]" {
			t.Fatalf("rule tag removed by hand: %v", p.Tags)
		}
		seg.Name, seg.Expr = "bigger", "rfm.m == 5"
		failOn(t, w.s.UpdateSegment(ctx, seg))
		all, err := w.s.Segments(ctx)
		failOn(t, err)
		if len(all) != 1 || all[0].Name != "bigger" {
			t.Fatalf("Segments = %+v", all)
		}
		failOn(t, w.s.DeleteSegment(ctx, seg.ID))
		if err := w.s.DeleteSegment(ctx, seg.ID); !errs.Is(err, "segment_not_found") {
			t.Fatalf("second delete: %v", err)
		}
		if _, err := w.s.Segment(ctx, seg.ID); !errs.Is(err, "segment_not_found") {
			t.Fatalf("deleted segment: %v", err)
		}
		if p := w.profile(t, buyers[0]); len(p.Tags) != 0 {
			t.Fatalf("tags of a deleted rule = %v", p.Tags)
		}
	})

	t.Run("profiles page by buyer id", func(t *testing.T) {
		var seen int
		after := ""
		for {
			rows, err := w.s.CRMProfiles(ctx, after, 4)
			failOn(t, err)
			for _, r := range rows {
				if r.BuyerID <= after {
					t.Fatalf("page out of order: %s after %s", r.BuyerID, after)
				}
				after = r.BuyerID
			}
			seen += len(rows)
			if len(rows) < 4 {
				break
			}
		}
		if seen != 11 {
			t.Fatalf("paged %d profiles, want 11", seen)
		}
		if _, err := w.s.CRMProfile(ctx, ids.New()); !errs.Is(err, "crm_profile_not_found") {
			t.Fatalf("unknown profile: %v", err)
		}
	})
}

// sku1 puts one SKU on sale at 1000 fen with plenty of stock.
func (w *crmWorld) sku1(t *testing.T) string {
	return w.sku(t, "crm tea", skuFixture{Spec: "100g", List: 1200, Sale: 1000, Stock: 1000}).ID
}
