package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
)

func init() { register("ledger", testLedger) }

// Short names for the system accounts keep the cases readable.
const (
	clearing = ledger.ClearingWeChat
	revenue  = ledger.MerchantRevenue
	payable  = ledger.RefundsPayable
	fees     = ledger.PlatformFees
)

func paymentTransfer(id, orderID string, amount money.Fen, at time.Time) ledger.Transfer {
	return ledger.Transfer{ID: ledger.PaymentID(id), Kind: ledger.KindPayment, Ref: orderID, State: ledger.Posted,
		Entries: []ledger.Entry{ledger.Dr(clearing, amount), ledger.Cr(revenue, amount)}, CreatedAt: at}
}

func refundTransfer(id, orderID string, amount money.Fen, at time.Time) ledger.Transfer {
	return ledger.Transfer{ID: ledger.RefundID(id), Kind: ledger.KindRefund, Ref: orderID, State: ledger.Pending,
		Entries: []ledger.Entry{ledger.Dr(revenue, amount), ledger.Cr(clearing, amount)}, CreatedAt: at}
}

func balanceOf(t *testing.T, s Engine, account string) ledger.Balance {
	t.Helper()
	bs, err := s.Balances(context.Background())
	failOn(t, err)
	for _, b := range bs {
		if b.Account.ID == account {
			return b
		}
	}
	t.Fatalf("no balance for account %s", account)
	return ledger.Balance{}
}

// sums is a balance's four sums, for comparing in one line.
func sums(b ledger.Balance) [4]money.Fen {
	return [4]money.Fen{b.PostedDebits, b.PostedCredits, b.PendingDebits, b.PendingCredits}
}

func wantSums(t *testing.T, s Engine, account string, want [4]money.Fen) {
	t.Helper()
	if got := sums(balanceOf(t, s, account)); got != want {
		t.Fatalf("%s: posted dr/cr, pending dr/cr = %v, want %v", account, got, want)
	}
}

// wantSound fails on any breach but an orphan: the ledger's own tests post
// payment and refund transfers without the payments and refunds they name
// (the payment and refund suites hold those rules).
func wantSound(t *testing.T, s Engine) {
	t.Helper()
	breaches, err := s.CheckLedger(context.Background())
	failOn(t, err)
	if real := withoutOrphans(breaches); len(real) > 0 {
		t.Fatalf("the book has breaches: %+v", real)
	}
}

func withoutOrphans(bs []ledger.Breach) []ledger.Breach {
	var out []ledger.Breach
	for _, b := range bs {
		if b.Rule != ledger.RulePaymentOrphan && b.Rule != ledger.RuleRefundOrphan {
			out = append(out, b)
		}
	}
	return out
}

func testLedger(t *testing.T, open Opener) {
	ctx := context.Background()
	t0 := platformEpoch

	t.Run("the system accounts exist, empty, and the empty book is sound", func(t *testing.T) {
		s := open(t)
		bs, err := s.Balances(ctx)
		failOn(t, err)
		if len(bs) != len(ledger.SystemAccounts) {
			t.Fatalf("%d accounts, want %d", len(bs), len(ledger.SystemAccounts))
		}
		for _, a := range ledger.SystemAccounts {
			if b := balanceOf(t, s, a.ID); b.Account != a || sums(b) != [4]money.Fen{} {
				t.Fatalf("account %s = %+v, want %+v and zero sums", a.ID, b, a)
			}
		}
		wantSound(t, s)
	})

	t.Run("a posted transfer reads back and moves the balances", func(t *testing.T) {
		s := open(t)
		p := paymentTransfer("p1", "o1", 1999, t0)
		failOn(t, s.PostTransfers(ctx, p))
		got, err := s.Transfer(ctx, p.ID)
		failOn(t, err)
		if got.ID != p.ID || got.Kind != p.Kind || got.Ref != p.Ref || got.State != ledger.Posted ||
			!got.CreatedAt.Equal(t0) || got.SettledAt != nil || fmt.Sprint(got.Entries) != fmt.Sprint(p.Entries) {
			t.Fatalf("read back %+v, want %+v", got, p)
		}
		wantSums(t, s, clearing, [4]money.Fen{1999, 0, 0, 0})
		wantSums(t, s, revenue, [4]money.Fen{0, 1999, 0, 0})
		if b := balanceOf(t, s, revenue); b.Posted() != 1999 || b.Available() != 1999 {
			t.Fatalf("revenue posted %d available %d, want 1999 both", b.Posted(), b.Available())
		}
		_, err = s.Transfer(ctx, "payment:nope")
		wantErrCode(t, err, ledger.CodeNotFound)
		wantSound(t, s)
	})

	t.Run("posting the same transfer again is a no-op", func(t *testing.T) {
		s := open(t)
		p := paymentTransfer("p1", "o1", 500, t0)
		failOn(t, s.PostTransfers(ctx, p))
		again := p
		again.CreatedAt = t0.Add(time.Hour) // a retry stamps its own time
		again.Entries = []ledger.Entry{p.Entries[1], p.Entries[0]}
		failOn(t, s.PostTransfers(ctx, again))
		failOn(t, s.PostTransfers(ctx, p, p))
		wantSums(t, s, clearing, [4]money.Fen{500, 0, 0, 0})
		if st, err := s.LedgerStats(ctx); err != nil || st.Transfers != 1 || st.Entries != 2 {
			t.Fatalf("stats %+v, %v; want 1 transfer, 2 entries", st, err)
		}
	})

	t.Run("reusing an id for another transfer is a conflict and writes nothing", func(t *testing.T) {
		s := open(t)
		p := paymentTransfer("p1", "o1", 500, t0)
		failOn(t, s.PostTransfers(ctx, p))
		other := func(change func(*ledger.Transfer)) ledger.Transfer {
			o := p
			o.Entries = append([]ledger.Entry(nil), p.Entries...)
			change(&o)
			return o
		}
		for name, c := range map[string]ledger.Transfer{
			"amount": other(func(o *ledger.Transfer) {
				o.Entries = []ledger.Entry{ledger.Dr(clearing, 501), ledger.Cr(revenue, 501)}
			}),
			"account":    other(func(o *ledger.Transfer) { o.Entries[1].Account = payable }),
			"kind":       other(func(o *ledger.Transfer) { o.Kind = ledger.KindPaymentFee }),
			"ref":        other(func(o *ledger.Transfer) { o.Ref = "o2" }),
			"born state": other(func(o *ledger.Transfer) { o.State = ledger.Pending }),
		} {
			t.Run(name, func(t *testing.T) {
				fresh := paymentTransfer("p2", "o2", 7, t0)
				err := s.PostTransfers(ctx, fresh, c)
				wantErrCode(t, err, ledger.CodeConflict)
				if errs.KindOf(err) != errs.Conflict || !errors.Is(err, ledger.ErrConflict) {
					t.Fatalf("err = %v, want a conflict wrapping ledger.ErrConflict", err)
				}
				if _, err := s.Transfer(ctx, fresh.ID); !errors.Is(err, ledger.ErrNotFound) {
					t.Fatalf("the transfer beside the conflict was written: %v", err)
				}
			})
		}
		err := s.PostTransfers(ctx, paymentTransfer("p3", "o3", 1, t0), paymentTransfer("p3", "o3", 2, t0))
		wantErrCode(t, err, ledger.CodeConflict)
		wantSums(t, s, clearing, [4]money.Fen{500, 0, 0, 0})
		wantSound(t, s)
	})

	t.Run("an invalid transfer is refused", func(t *testing.T) {
		s := open(t)
		ok := paymentTransfer("p1", "o1", 100, t0)
		with := func(change func(*ledger.Transfer)) ledger.Transfer {
			c := ok
			c.Entries = append([]ledger.Entry(nil), ok.Entries...)
			change(&c)
			return c
		}
		for _, c := range []struct {
			name string
			tr   ledger.Transfer
		}{
			{"unbalanced", with(func(c *ledger.Transfer) { c.Entries[1].Amount = 99 })},
			{"one entry", with(func(c *ledger.Transfer) { c.Entries = c.Entries[:1] })},
			{"no entries", with(func(c *ledger.Transfer) { c.Entries = nil })},
			{"zero amounts", with(func(c *ledger.Transfer) { c.Entries[0].Amount, c.Entries[1].Amount = 0, 0 })},
			{"negative amounts", with(func(c *ledger.Transfer) { c.Entries[0].Amount, c.Entries[1].Amount = -5, -5 })},
			{"one side only", with(func(c *ledger.Transfer) { c.Entries[1].Side = ledger.Debit })},
			{"unknown side", with(func(c *ledger.Transfer) { c.Entries[1].Side = "both" })},
			{"no account", with(func(c *ledger.Transfer) { c.Entries[0].Account = "" })},
			{"no id", with(func(c *ledger.Transfer) { c.ID = "" })},
			{"no kind", with(func(c *ledger.Transfer) { c.Kind = "" })},
			{"born voided", with(func(c *ledger.Transfer) { c.State = ledger.Voided })},
			{"no state", with(func(c *ledger.Transfer) { c.State = "" })},
		} {
			t.Run(c.name, func(t *testing.T) {
				if err := ledger.Validate(c.tr); errs.KindOf(err) != errs.Invalid {
					t.Fatalf("Validate = %v, want invalid", err)
				}
				if err := s.PostTransfers(ctx, c.tr); errs.KindOf(err) != errs.Invalid {
					t.Fatalf("PostTransfers = %v, want invalid", err)
				}
			})
		}
		t.Run("unknown account", func(t *testing.T) {
			err := s.PostTransfers(ctx, with(func(c *ledger.Transfer) { c.Entries[1].Account = "revenue:nobody" }))
			wantErrCode(t, err, ledger.CodeAccountNotFound)
		})
		if st, err := s.LedgerStats(ctx); err != nil || st.Transfers != 0 || st.Entries != 0 {
			t.Fatalf("stats %+v, %v; want nothing written", st, err)
		}
		wantSound(t, s)
	})

	t.Run("an account that may not go negative refuses, and nothing of the call is written", func(t *testing.T) {
		s := open(t)
		failOn(t, s.PostTransfers(ctx, paymentTransfer("p1", "o1", 100, t0)))
		// The two transfers of a call count together: clearing would end at
		// 100 + 5 - 106 = -1.
		err := s.PostTransfers(ctx, paymentTransfer("p2", "o2", 5, t0), ledger.Transfer{
			ID: "refund:r1", Kind: ledger.KindRefund, Ref: "o1", State: ledger.Posted,
			Entries: []ledger.Entry{ledger.Dr(revenue, 106), ledger.Cr(clearing, 106)},
		})
		wantErrCode(t, err, ledger.CodeInsufficient)
		if errs.KindOf(err) != errs.Conflict || !errors.Is(err, ledger.ErrInsufficient) {
			t.Fatalf("err = %v, want a conflict wrapping ledger.ErrInsufficient", err)
		}
		if _, err := s.Transfer(ctx, "payment:p2"); !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("payment:p2 was written beside the refused refund: %v", err)
		}
		wantSums(t, s, clearing, [4]money.Fen{100, 0, 0, 0})
		wantSums(t, s, revenue, [4]money.Fen{0, 100, 0, 0})
		wantSums(t, s, fees, [4]money.Fen{})

		// Pending outflows count: a pending refund of 80 leaves 20 to spend.
		failOn(t, s.PostTransfers(ctx, refundTransfer("r2", "o1", 80, t0)))
		wantErrCode(t, s.PostTransfers(ctx, refundTransfer("r3", "o1", 21, t0)), ledger.CodeInsufficient)
		failOn(t, s.PostTransfers(ctx, refundTransfer("r4", "o1", 20, t0)))
		// An allowed account goes below zero.
		failOn(t, s.CreateAccount(ctx, ledger.Account{ID: "equity:owner", Name: "Owner", Kind: ledger.Liability, AllowNegative: true}))
		failOn(t, s.PostTransfers(ctx, ledger.Transfer{ID: "draw:1", Kind: "draw", State: ledger.Posted,
			Entries: []ledger.Entry{ledger.Dr("equity:owner", 30), ledger.Cr(revenue, 30)}}))
		if b := balanceOf(t, s, "equity:owner"); b.Posted() != -30 {
			t.Fatalf("equity posted %d, want -30", b.Posted())
		}
		wantSound(t, s)
	})

	t.Run("a pending transfer settles once, to posted or voided", func(t *testing.T) {
		s := open(t)
		failOn(t, s.PostTransfers(ctx, paymentTransfer("p1", "o1", 100, t0), refundTransfer("r1", "o1", 30, t0), refundTransfer("r2", "o1", 20, t0)))
		wantSums(t, s, clearing, [4]money.Fen{100, 0, 0, 50})
		wantSums(t, s, revenue, [4]money.Fen{0, 100, 50, 0})
		wantSound(t, s)

		at := t0.Add(time.Hour)
		failOn(t, s.SettleTransfer(ctx, "refund:r1", ledger.Posted, at))
		failOn(t, s.SettleTransfer(ctx, "refund:r1", ledger.Posted, at.Add(time.Hour))) // a repeat: no-op
		wantErrCode(t, s.SettleTransfer(ctx, "refund:r1", ledger.Voided, at), ledger.CodeConflict)
		failOn(t, s.SettleTransfer(ctx, "refund:r2", ledger.Voided, at))
		failOn(t, s.SettleTransfer(ctx, "refund:r2", ledger.Voided, at))
		wantErrCode(t, s.SettleTransfer(ctx, "refund:r2", ledger.Posted, at), ledger.CodeConflict)
		// Born posted: settling to posted is a no-op, voiding a conflict.
		failOn(t, s.SettleTransfer(ctx, "payment:p1", ledger.Posted, at))
		wantErrCode(t, s.SettleTransfer(ctx, "payment:p1", ledger.Voided, at), ledger.CodeConflict)
		wantErrCode(t, s.SettleTransfer(ctx, "refund:nope", ledger.Posted, at), ledger.CodeNotFound)
		if err := s.SettleTransfer(ctx, "refund:r1", ledger.Pending, at); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("settle to pending = %v, want invalid", err)
		}

		wantSums(t, s, clearing, [4]money.Fen{100, 30, 0, 0})
		wantSums(t, s, revenue, [4]money.Fen{30, 100, 0, 0})
		r1, err := s.Transfer(ctx, "refund:r1")
		failOn(t, err)
		if r1.State != ledger.Posted || r1.SettledAt == nil || !r1.SettledAt.Equal(at) || !r1.CreatedAt.Equal(t0) {
			t.Fatalf("refund:r1 = %+v, want posted, settled at %v", r1, at)
		}
		r2, err := s.Transfer(ctx, "refund:r2")
		failOn(t, err)
		if r2.State != ledger.Voided || r2.SettledAt == nil {
			t.Fatalf("refund:r2 = %+v, want voided", r2)
		}
		// The original pending post, retried after the settle, is a no-op.
		failOn(t, s.PostTransfers(ctx, refundTransfer("r1", "o1", 30, t0), refundTransfer("r2", "o1", 20, t0)))
		wantSums(t, s, clearing, [4]money.Fen{100, 30, 0, 0})
		wantSound(t, s)
	})

	t.Run("concurrent posts never overdraw: 20 of 50 one-fen spends from 20 fen", func(t *testing.T) {
		s := open(t)
		wallet := ledger.Account{ID: "balance:buyer:b1", Name: "Buyer b1", Kind: ledger.Liability}
		failOn(t, s.CreateAccount(ctx, wallet))
		failOn(t, s.PostTransfers(ctx, ledger.Transfer{ID: "topup:1", Kind: "topup", Ref: "b1", State: ledger.Posted,
			Entries: []ledger.Entry{ledger.Dr(clearing, 20), ledger.Cr(wallet.ID, 20)}}))
		var (
			wg                sync.WaitGroup
			mu                sync.Mutex
			ok, short, others int
		)
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.PostTransfers(ctx, ledger.Transfer{ID: fmt.Sprintf("spend:%d", i), Kind: "spend", Ref: "b1",
					State: ledger.Posted, Entries: []ledger.Entry{ledger.Dr(wallet.ID, 1), ledger.Cr(revenue, 1)}})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errs.Is(err, ledger.CodeInsufficient):
					short++
				default:
					others++
					t.Errorf("spend %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		if ok != 20 || short != 30 || others != 0 {
			t.Fatalf("%d spends succeeded, %d refused, %d failed; want 20, 30, 0", ok, short, others)
		}
		wantSums(t, s, wallet.ID, [4]money.Fen{20, 20, 0, 0})
		wantSound(t, s)
	})

	t.Run("the trial balance's debits equal its credits", func(t *testing.T) {
		s := open(t)
		failOn(t, s.PostTransfers(ctx,
			paymentTransfer("p1", "o1", 1000, t0),
			ledger.Transfer{ID: ledger.PaymentFeeID("p1"), Kind: ledger.KindPaymentFee, Ref: "o1", State: ledger.Posted,
				Entries: []ledger.Entry{ledger.Dr(fees, 6), ledger.Cr(clearing, 6)}},
			paymentTransfer("p2", "o2", 250, t0),
			refundTransfer("r1", "o1", 300, t0),
		))
		bs, err := s.Balances(ctx)
		failOn(t, err)
		var total ledger.Balance
		for _, b := range bs {
			total.PostedDebits += b.PostedDebits
			total.PostedCredits += b.PostedCredits
			total.PendingDebits += b.PendingDebits
			total.PendingCredits += b.PendingCredits
		}
		if sums(total) != [4]money.Fen{1256, 1256, 300, 300} {
			t.Fatalf("trial balance totals %v, want posted 1256/1256, pending 300/300", sums(total))
		}
		wantSums(t, s, clearing, [4]money.Fen{1250, 6, 0, 300})
		if b := balanceOf(t, s, clearing); b.Posted() != 1244 || b.Available() != 944 {
			t.Fatalf("clearing posted %d available %d, want 1244, 944", b.Posted(), b.Available())
		}
	})

	t.Run("a statement lists an account's entries newest first", func(t *testing.T) {
		s := open(t)
		for i := range 5 {
			failOn(t, s.PostTransfers(ctx, paymentTransfer(fmt.Sprint("p", i), fmt.Sprint("o", i), money.Fen(100+i), t0.Add(time.Duration(i)*time.Minute))))
		}
		failOn(t, s.PostTransfers(ctx, refundTransfer("r1", "o4", 50, t0.Add(10*time.Minute))))
		lines, err := s.Statement(ctx, clearing, time.Time{}, time.Time{}, 0)
		failOn(t, err)
		var got []string
		for _, l := range lines {
			got = append(got, fmt.Sprintf("%s %s %s %d %s", l.TransferID, l.State, l.Side, l.Amount, l.At.Sub(t0)))
		}
		want := "[refund:r1 pending credit 50 10m0s payment:p4 posted debit 104 4m0s payment:p3 posted debit 103 3m0s " +
			"payment:p2 posted debit 102 2m0s payment:p1 posted debit 101 1m0s payment:p0 posted debit 100 0s]"
		if fmt.Sprint(got) != want {
			t.Fatalf("statement\n%v\nwant\n%v", got, want)
		}
		if lines[0].Kind != ledger.KindRefund || lines[0].Ref != "o4" {
			t.Fatalf("first line %+v, want the refund of o4", lines[0])
		}
		window, err := s.Statement(ctx, clearing, t0.Add(time.Minute), t0.Add(4*time.Minute), 2)
		failOn(t, err)
		if len(window) != 2 || window[0].TransferID != "payment:p3" || window[1].TransferID != "payment:p2" {
			t.Fatalf("window [1m, 4m) limit 2 = %+v, want p3, p2", window)
		}
		_, err = s.Statement(ctx, "no:such", time.Time{}, time.Time{}, 10)
		wantErrCode(t, err, ledger.CodeAccountNotFound)
	})

	t.Run("the settlement report counts Shanghai business days from the ledger", func(t *testing.T) {
		s := open(t)
		day := time.Date(2031, 3, 1, 0, 0, 0, 0, time.UTC) // any instant of the day will do
		// 2031-03-01 in Shanghai is [02-28 16:00, 03-01 16:00) UTC.
		before := time.Date(2031, 2, 28, 15, 59, 59, 0, time.UTC)
		first := time.Date(2031, 2, 28, 16, 0, 0, 0, time.UTC)
		last := time.Date(2031, 3, 1, 15, 59, 59, 999999000, time.UTC)
		after := time.Date(2031, 3, 1, 16, 0, 0, 0, time.UTC)
		fee := func(id string, amount money.Fen, at time.Time) ledger.Transfer {
			return ledger.Transfer{ID: ledger.PaymentFeeID(id), Kind: ledger.KindPaymentFee, Ref: "o", State: ledger.Posted,
				Entries: []ledger.Entry{ledger.Dr(fees, amount), ledger.Cr(clearing, amount)}, CreatedAt: at}
		}
		feeBack := func(id string, amount money.Fen, at time.Time) ledger.Transfer {
			return ledger.Transfer{ID: ledger.RefundFeeID(id), Kind: ledger.KindRefundFee, Ref: "o", State: ledger.Posted,
				Entries: []ledger.Entry{ledger.Dr(clearing, amount), ledger.Cr(fees, amount)}, CreatedAt: at}
		}
		failOn(t, s.PostTransfers(ctx,
			paymentTransfer("before", "o0", 7000, before), fee("before", 42, before),
			paymentTransfer("first", "o1", 10000, first), fee("first", 60, first),
			paymentTransfer("last", "o2", 3333, last), fee("last", 20, last),
			paymentTransfer("after", "o3", 9000, after),
			refundTransfer("early", "o0", 1000, before), // sent the day before, confirmed this day
			refundTransfer("late", "o1", 2500, first),   // sent this day, confirmed the next
			refundTransfer("voided", "o2", 33, first),   // never happened
			refundTransfer("pending", "o2", 44, first),  // not yet
			feeBack("early", 6, last),
		))
		failOn(t, s.SettleTransfer(ctx, "refund:early", ledger.Posted, first.Add(time.Hour)))
		failOn(t, s.SettleTransfer(ctx, "refund:late", ledger.Posted, after))
		failOn(t, s.SettleTransfer(ctx, "refund:voided", ledger.Voided, first.Add(time.Hour)))

		got, err := s.Settlement(ctx, day)
		failOn(t, err)
		want := ledger.Settlement{Payments: 2, Paid: 13333, Refunds: 1, Refunded: 1000, Fees: 74, Net: 12259}
		wantDay, _ := ledger.BusinessDay(day)
		if !got.Day.Equal(wantDay) || !got.Day.Equal(first) {
			t.Fatalf("day %v, want %v", got.Day, first)
		}
		got.Day = time.Time{}
		if got != want {
			t.Fatalf("settlement %+v, want %+v", got, want)
		}
		next, err := s.Settlement(ctx, after)
		failOn(t, err)
		if next.Paid != 9000 || next.Refunded != 2500 || next.Net != 6500 {
			t.Fatalf("next day %+v, want paid 9000, refunded 2500, net 6500", next)
		}
		wantSound(t, s)
	})

	t.Run("an account is created once", func(t *testing.T) {
		s := open(t)
		a := ledger.Account{ID: "payable:commission:p1", Name: "Commission payable to p1", Kind: ledger.Liability}
		failOn(t, s.CreateAccount(ctx, a))
		failOn(t, s.CreateAccount(ctx, a))
		b := a
		b.AllowNegative = true
		wantErrCode(t, s.CreateAccount(ctx, b), ledger.CodeAccountConflict)
		if err := s.CreateAccount(ctx, ledger.Account{ID: "x", Name: "x", Kind: "equity"}); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("an unknown kind: %v, want invalid", err)
		}
		if got := balanceOf(t, s, a.ID); got.Account != a {
			t.Fatalf("account %+v, want %+v", got.Account, a)
		}
		st, err := s.LedgerStats(ctx)
		failOn(t, err)
		if st.Accounts != len(ledger.SystemAccounts)+1 {
			t.Fatalf("%d accounts, want %d", st.Accounts, len(ledger.SystemAccounts)+1)
		}
	})

	t.Run("the check finds refunds beyond payments and double payments", func(t *testing.T) {
		s := open(t)
		failOn(t, s.PostTransfers(ctx,
			paymentTransfer("p1", "o1", 100, t0), paymentTransfer("p2", "o1", 100, t0), // o1 paid twice
			paymentTransfer("p3", "o2", 100, t0), refundTransfer("r1", "o2", 60, t0), refundTransfer("r2", "o2", 50, t0), // o2 refunded 110
			ledger.Transfer{ID: "refund-r3", Kind: ledger.KindRefund, Ref: "o3", State: ledger.Posted, // id off convention
				Entries: []ledger.Entry{ledger.Dr(revenue, 1), ledger.Cr(clearing, 1)}},
		))
		breaches, err := s.CheckLedger(ctx)
		failOn(t, err)
		got := map[string]string{}
		for _, b := range withoutOrphans(breaches) {
			got[b.Rule+" "+b.Ref] = b.Detail
		}
		for _, want := range []string{
			ledger.RulePaymentTwice + " o1",
			ledger.RuleRefundExceedsPaid + " o2",
			ledger.RuleRefundExceedsPaid + " o3",
			ledger.RuleTransferID + " refund-r3",
		} {
			if _, ok := got[want]; !ok {
				t.Errorf("no breach %q in %v", want, got)
			}
		}
		if len(got) != 4 {
			t.Fatalf("breaches %v, want exactly 4", got)
		}
	})

	testLedgerProperty(t, open)
}
