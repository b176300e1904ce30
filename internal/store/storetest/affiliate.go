package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func init() { register("affiliate", testAffiliate) }

func testAffiliate(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	t0 := time.Date(2031, 7, 1, 9, 0, 0, 0, time.UTC)
	for _, a := range affiliate.Accounts {
		failOn(t, s.CreateAccount(ctx, a))
	}
	promoter := func(t *testing.T, code string) *affiliate.Promoter {
		t.Helper()
		p := &affiliate.Promoter{ID: ids.New(), InviteCode: code, Status: affiliate.Approved, AppliedAt: t0, DecidedAt: &t0, DecidedBy: "auto"}
		failOn(t, s.CreatePromoter(ctx, p))
		failOn(t, s.CreateAccount(ctx, affiliate.PromoterAccount(p.ID)))
		return p
	}
	allow := func(cur, next *affiliate.Binding, chain []string) error {
		for _, id := range chain {
			if id == next.BuyerID {
				return affiliate.ErrCycle
			}
		}
		return nil
	}

	t.Run("promoters: one per buyer, unique codes, read back", func(t *testing.T) {
		p := promoter(t, "AAAA0001")
		got, err := s.Promoter(ctx, p.ID)
		failOn(t, err)
		if got.InviteCode != p.InviteCode || got.Status != affiliate.Approved || !got.AppliedAt.Equal(t0) || got.DecidedBy != "auto" {
			t.Fatalf("read back %+v", got)
		}
		if byCode, err := s.PromoterByCode(ctx, "AAAA0001"); err != nil || byCode.ID != p.ID {
			t.Fatalf("by code: %+v %v", byCode, err)
		}
		again := *p
		again.InviteCode = "AAAA0002"
		if err := s.CreatePromoter(ctx, &again); !errs.Is(err, affiliate.ErrAlreadyPromoter.Code) {
			t.Fatalf("second application: %v", err)
		}
		other := &affiliate.Promoter{ID: ids.New(), InviteCode: "AAAA0001", Status: affiliate.Applied, AppliedAt: t0}
		if err := s.CreatePromoter(ctx, other); !errs.Is(err, affiliate.ErrCodeTaken.Code) {
			t.Fatalf("code reused: %v", err)
		}
		if _, err := s.Promoter(ctx, ids.New()); !errs.Is(err, affiliate.ErrNotPromoter.Code) {
			t.Fatalf("unknown promoter: %v", err)
		}
		page, err := s.Promoters(ctx, affiliate.PromoterFilter{Status: affiliate.Approved, Limit: 1})
		failOn(t, err)
		if len(page.Promoters) != 1 {
			t.Fatalf("page: %+v", page)
		}
	})

	t.Run("bindings: concurrent opposite bindings never make a cycle", func(t *testing.T) {
		a, b := promoter(t, "CYC00001"), promoter(t, "CYC00002")
		var wg sync.WaitGroup
		errsOut := make([]error, 2)
		for i, pair := range [][2]string{{a.ID, b.ID}, {b.ID, a.ID}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errsOut[i] = s.Bind(ctx, affiliate.Binding{BuyerID: pair[0], PromoterID: pair[1], Via: affiliate.ViaInviteCode,
					Ref: "x", BoundAt: t0}, allow)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errsOut {
			if err == nil {
				ok++
			} else if !errs.Is(err, affiliate.ErrCycle.Code) {
				t.Fatal(err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of the two opposite bindings were written, want 1: %v", ok, errsOut)
		}
		upA, err := s.Upline(ctx, a.ID, 5, t0)
		failOn(t, err)
		upB, err := s.Upline(ctx, b.ID, 5, t0)
		failOn(t, err)
		if len(upA)+len(upB) != 1 {
			t.Fatalf("uplines %v %v", upA, upB)
		}
	})

	t.Run("bindings: upline stops at an expired binding; team by tier", func(t *testing.T) {
		top, mid := promoter(t, "UPL00001"), promoter(t, "UPL00002")
		buyer := ids.New()
		exp := t0.Add(time.Hour)
		_, err := s.Bind(ctx, affiliate.Binding{BuyerID: mid.ID, PromoterID: top.ID, Via: affiliate.ViaInviteCode, Ref: "c", BoundAt: t0, ExpiresAt: &exp}, allow)
		failOn(t, err)
		got, err := s.Bind(ctx, affiliate.Binding{BuyerID: buyer, PromoterID: mid.ID, Via: affiliate.ViaShare, Ref: ids.New(), BoundAt: t0}, allow)
		failOn(t, err)
		if got.PromoterID != mid.ID {
			t.Fatalf("bound %+v", got)
		}
		// decide keeps the current binding: nothing changes.
		kept, err := s.Bind(ctx, affiliate.Binding{BuyerID: buyer, PromoterID: top.ID, Via: affiliate.ViaShare, Ref: "y", BoundAt: t0.Add(time.Minute)},
			func(cur, next *affiliate.Binding, chain []string) error { return affiliate.ErrNoop })
		if err != nil || kept.PromoterID != mid.ID {
			t.Fatalf("kept %+v %v", kept, err)
		}
		up, err := s.Upline(ctx, buyer, 2, t0)
		failOn(t, err)
		if len(up) != 2 || up[0] != mid.ID || up[1] != top.ID {
			t.Fatalf("upline %v", up)
		}
		if up, _ := s.Upline(ctx, buyer, 2, exp); len(up) != 1 {
			t.Fatalf("upline after expiry %v", up)
		}
		team, err := s.AffiliateTeam(ctx, top.ID, affiliate.TeamFilter{Tier: 2, Limit: 10})
		failOn(t, err)
		if len(team.Members) != 1 || team.Members[0].BuyerID != buyer || team.Members[0].Promoter {
			t.Fatalf("tier 2 %+v", team)
		}
		team, err = s.AffiliateTeam(ctx, top.ID, affiliate.TeamFilter{Tier: 1, Limit: 10})
		failOn(t, err)
		if len(team.Members) != 1 || !team.Members[0].Promoter {
			t.Fatalf("tier 1 %+v", team)
		}
	})

	t.Run("bindings keep their device; stats count the devices of ClusterDownlines downlines", func(t *testing.T) {
		p, q := promoter(t, "DEV00001"), promoter(t, "DEV00002")
		bind := func(buyer, to, device string) *affiliate.Binding {
			t.Helper()
			b, err := s.Bind(ctx, affiliate.Binding{BuyerID: buyer, PromoterID: to, Via: affiliate.ViaInviteCode, Ref: "c",
				DeviceID: device, BoundAt: t0}, allow)
			failOn(t, err)
			return b
		}
		stats := func() affiliate.PromoterStats {
			t.Helper()
			all, err := s.PromoterStats(ctx)
			failOn(t, err)
			for _, x := range all {
				if x.PromoterID == p.ID {
					return x
				}
			}
			t.Fatalf("no stats of %s in %+v", p.ID, all)
			return affiliate.PromoterStats{}
		}
		var onA []string
		for range affiliate.ClusterDownlines {
			onA = append(onA, ids.New())
			bind(onA[len(onA)-1], p.ID, "dev-a")
		}
		for range affiliate.ClusterDownlines - 1 {
			bind(ids.New(), p.ID, "dev-b") // one short of a cluster
		}
		for range affiliate.ClusterDownlines {
			bind(ids.New(), p.ID, "") // no device named: never a cluster
		}
		got, err := s.Binding(ctx, onA[0])
		failOn(t, err)
		if got.DeviceID != "dev-a" {
			t.Fatalf("binding read back %+v, want device dev-a", got)
		}
		if st := stats(); st.Downlines != 3*affiliate.ClusterDownlines-1 || st.DeviceClusters != 1 {
			t.Fatalf("stats %+v; want %d downlines, 1 device cluster", st, 3*affiliate.ClusterDownlines-1)
		}
		// A rebinding writes its own device: dev-a is one short now.
		bind(onA[0], q.ID, "dev-c")
		if got, err := s.Binding(ctx, onA[0]); err != nil || got.DeviceID != "dev-c" || got.PromoterID != q.ID {
			t.Fatalf("rebound %+v %v; want to %s from dev-c", got, err, q.ID)
		}
		if st := stats(); st.DeviceClusters != 0 {
			t.Fatalf("stats after the rebinding %+v; want no device cluster", st)
		}
	})

	t.Run("sales: once per order; refunds once; settlement moves pending to the account", func(t *testing.T) {
		p := promoter(t, "SAL00001")
		orderID, buyer := ids.New(), ids.New()
		cs := []affiliate.Commission{{ID: ids.New(), OrderID: orderID, LineID: ids.New(), BuyerID: buyer, PromoterID: p.ID, Tier: 1,
			ProductID: ids.New(), SKUID: ids.New(), Base: 1000, Rate: 1000, Amount: 100, State: affiliate.Pending, CreatedAt: t0}}
		sale := &affiliate.Sale{OrderID: orderID, BuyerID: buyer, Paid: 1000, PaidAt: t0}
		change := affiliate.Change{Transfers: affiliate.Accrual(cs, orderID)}
		for i := 0; i < 2; i++ {
			ok, err := s.RecordSale(ctx, sale, cs, change)
			failOn(t, err)
			if ok != (i == 0) {
				t.Fatalf("record %d: %v", i, ok)
			}
		}
		refund := func(id string, amount money.Fen) bool {
			ok, err := s.ApplyRefund(ctx, id, orderID, func(_ *affiliate.Sale, cs []affiliate.Commission) ([]affiliate.Commission, affiliate.Change, error) {
				changed, ts := affiliate.Reverse(cs, affiliate.Refunded(cs, []affiliate.RefundedLine{{LineID: cs[0].LineID, Amount: amount}}, amount, false), id, orderID)
				return changed, affiliate.Change{Transfers: ts}, nil
			})
			failOn(t, err)
			return ok
		}
		r1 := ids.New()
		if !refund(r1, 250) || refund(r1, 250) {
			t.Fatal("a refund applied other than once")
		}
		if n, err := s.SettleDue(ctx, t0.Add(time.Hour), 10, nil); err != nil || n != 0 {
			t.Fatalf("settled a sale with no settle time: %d %v", n, err)
		}
		ok, err := s.ScheduleSettlement(ctx, orderID, t0.Add(time.Hour))
		failOn(t, err)
		if again, _ := s.ScheduleSettlement(ctx, orderID, t0.Add(2*time.Hour)); !ok || again {
			t.Fatalf("schedule %v then %v", ok, again)
		}
		if n, _ := s.DueSales(ctx, t0.Add(time.Hour)); n != 1 {
			t.Fatalf("due %d", n)
		}
		settle := func(_ []*affiliate.Sale, cs []affiliate.Commission) ([]affiliate.Commission, affiliate.Change, error) {
			changed, ts := affiliate.Settle(cs, ids.New(), orderID, t0.Add(time.Hour))
			return changed, affiliate.Change{Transfers: ts}, nil
		}
		if n, err := s.SettleDue(ctx, t0.Add(time.Hour), 10, settle); err != nil || n != 1 {
			t.Fatalf("settle: %d %v", n, err)
		}
		if n, _ := s.SettleDue(ctx, t0.Add(time.Hour), 10, settle); n != 0 {
			t.Fatal("settled twice")
		}
		e, err := s.Earnings(ctx, p.ID)
		failOn(t, err)
		if e.Pending != 0 || e.Credited != 75 || e.Available != 75 {
			t.Fatalf("earnings %+v", e)
		}
		page, err := s.Commissions(ctx, affiliate.CommissionFilter{PromoterID: p.ID})
		failOn(t, err)
		if len(page.Commissions) != 1 || page.Commissions[0].Reversed != 25 || page.Commissions[0].Settled != 75 || page.Commissions[0].State != affiliate.Settled {
			t.Fatalf("commissions %+v", page)
		}
		checkAffiliateLedger(t, s, p.ID, e)
	})

	t.Run("withdrawals: concurrent requests never spend more than the balance", func(t *testing.T) {
		p := promoter(t, "WDR00001")
		orderID := ids.New()
		cs := []affiliate.Commission{{ID: ids.New(), OrderID: orderID, LineID: ids.New(), BuyerID: ids.New(), PromoterID: p.ID, Tier: 1,
			ProductID: ids.New(), SKUID: ids.New(), Base: 10000, Rate: 1000, Amount: 1000, State: affiliate.Pending, CreatedAt: t0}}
		_, err := s.RecordSale(ctx, &affiliate.Sale{OrderID: orderID, BuyerID: cs[0].BuyerID, Paid: 10000, PaidAt: t0}, cs,
			affiliate.Change{Transfers: affiliate.Accrual(cs, orderID)})
		failOn(t, err)
		_, _ = s.ScheduleSettlement(ctx, orderID, t0)
		_, err = s.SettleDue(ctx, t0, 10, func(_ []*affiliate.Sale, cs []affiliate.Commission) ([]affiliate.Commission, affiliate.Change, error) {
			changed, ts := affiliate.Settle(cs, ids.New(), orderID, t0)
			return changed, affiliate.Change{Transfers: ts}, nil
		})
		failOn(t, err)
		plan := func(p *affiliate.Promoter, e affiliate.Earnings, day affiliate.DayUse) (*affiliate.Withdrawal, affiliate.Change, error) {
			if e.Available < 600 {
				return nil, affiliate.Change{}, affiliate.ErrOverBalance
			}
			id := ids.New()
			w := &affiliate.Withdrawal{ID: id, PromoterID: p.ID, Amount: 600, State: affiliate.WithdrawalRequested,
				OutBillNo: id[:8] + id[9:13] + id[14:18] + id[19:23] + id[24:], CreatedAt: t0, UpdatedAt: t0}
			return w, affiliate.Change{Transfers: []ledger.Transfer{{ID: affiliate.KindWithdrawal + ":" + id, Kind: affiliate.KindWithdrawal,
				Ref: p.ID, State: ledger.Pending, Entries: []ledger.Entry{ledger.Dr(affiliate.Account(p.ID), 600), ledger.Cr(affiliate.OperatingAccount, 600)}}}}, nil
		}
		var wg sync.WaitGroup
		results := make([]error, 4)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, results[i] = s.CreateWithdrawal(ctx, p.ID, t0.Add(-time.Hour), t0.Add(time.Hour), plan)
			}()
		}
		wg.Wait()
		made := 0
		for _, err := range results {
			if err == nil {
				made++
			} else if !errs.Is(err, affiliate.ErrOverBalance.Code) {
				t.Fatal(err)
			}
		}
		if made != 1 {
			t.Fatalf("%d withdrawals of 600 from 1000", made)
		}
		page, err := s.Withdrawals(ctx, affiliate.WithdrawalFilter{PromoterID: p.ID})
		failOn(t, err)
		if len(page.Withdrawals) != 1 {
			t.Fatalf("withdrawals %+v", page)
		}
		w := page.Withdrawals[0]
		_, err = s.UpdateWithdrawal(ctx, w.ID, func(w *affiliate.Withdrawal) (affiliate.Change, error) {
			w.State = affiliate.WithdrawalSucceeded
			return affiliate.Change{Post: []string{affiliate.KindWithdrawal + ":" + w.ID}}, nil
		})
		failOn(t, err)
		e, err := s.Earnings(ctx, p.ID)
		failOn(t, err)
		if e.Withdrawn != 600 || e.Available != 400 {
			t.Fatalf("earnings %+v", e)
		}
		checkAffiliateLedger(t, s, p.ID, e)
	})
}

// checkAffiliateLedger: a promoter's account on the ledger equals their
// earnings from distribution's rows, and the book is sound.
func checkAffiliateLedger(t *testing.T, s Engine, promoterID string, e affiliate.Earnings) {
	t.Helper()
	bs, err := s.Balances(context.Background())
	failOn(t, err)
	for _, b := range bs {
		if b.Account.ID == affiliate.Account(promoterID) && b.Available() != e.Available {
			t.Fatalf("ledger available %d, rows %d", b.Available(), e.Available)
		}
	}
	breaches, err := s.CheckLedger(context.Background())
	failOn(t, err)
	if len(breaches) > 0 {
		t.Fatalf("ledger breaches: %+v", breaches)
	}
}
