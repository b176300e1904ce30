package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/seal"
)

// rulesOf lists the rule and ref of each breach, sorted, leaving out the
// orphans: these books have payment and refund transfers without the
// payments and refunds they name.
func rulesOf(bs []ledger.Breach) string {
	var out []string
	for _, b := range bs {
		if b.Rule != ledger.RulePaymentOrphan && b.Rule != ledger.RuleRefundOrphan {
			out = append(out, b.Rule+" "+b.Ref)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// The conformance suite can only write through the Store, which keeps the
// book sound; here raw SQL breaks it behind the store's back, one way per
// case, and the check must say how.
func TestLedgerCheckFindsCorruption(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2031, 3, 1, 9, 0, 0, 0, time.UTC)
	const orderID = "6f1c0b8e-0000-4000-8000-000000000001"
	book := []ledger.Transfer{
		{ID: ledger.PaymentID("p1"), Kind: ledger.KindPayment, Ref: orderID, State: ledger.Posted, CreatedAt: t0,
			Entries: []ledger.Entry{ledger.Dr(ledger.ClearingWeChat, 1000), ledger.Cr(ledger.MerchantRevenue, 1000)}},
		{ID: ledger.PaymentFeeID("p1"), Kind: ledger.KindPaymentFee, Ref: orderID, State: ledger.Posted, CreatedAt: t0,
			Entries: []ledger.Entry{ledger.Dr(ledger.PlatformFees, 6), ledger.Cr(ledger.ClearingWeChat, 6)}},
		{ID: ledger.RefundID("r1"), Kind: ledger.KindRefund, Ref: orderID, State: ledger.Pending, CreatedAt: t0,
			Entries: []ledger.Entry{ledger.Dr(ledger.MerchantRevenue, 300), ledger.Cr(ledger.RefundsPayable, 300)}},
	}
	insertOrder := `INSERT INTO orders (id, buyer_id, status, subtotal, discount, shipping, total, ship_to, pay_by,
		paid_at, created_at, updated_at) VALUES (?, 'b1', ?, 1000, 0, 0, 1000, '', 0, 0, 0, 0)`
	for _, c := range []struct {
		name string
		sql  []string
		want string
	}{
		{"a stored balance changed",
			[]string{`UPDATE ledger_accounts SET posted_debits = posted_debits + 1 WHERE id = 'clearing:wechat'`},
			"account_balance_mismatch clearing:wechat, balances_unbalanced balances"},
		{"an entry lost",
			[]string{`DELETE FROM ledger_entries WHERE transfer_id = 'payment_fee:p1' AND position = 1`},
			"account_balance_mismatch clearing:wechat, book_unbalanced book, transfer_unbalanced payment_fee:p1"},
		{"an entry's amount changed",
			[]string{`UPDATE ledger_entries SET amount = 301 WHERE transfer_id = 'refund:r1' AND position = 0`},
			"account_balance_mismatch revenue:merchant, book_unbalanced book, transfer_unbalanced refund:r1"},
		{"a transfer's amount changed",
			[]string{`UPDATE ledger_transfers SET amount = 999 WHERE id = 'payment:p1'`},
			"transfer_unbalanced payment:p1"},
		{"a transfer without entries",
			[]string{`INSERT INTO ledger_transfers (id, kind, state, amount, created_at) VALUES ('adjust:1', 'adjust', 'posted', 5, 0)`},
			"transfer_unbalanced adjust:1"},
		{"a pending transfer voided without its sums moving",
			[]string{`UPDATE ledger_transfers SET state = 'voided' WHERE id = 'refund:r1'`},
			"account_balance_mismatch refunds:payable, account_balance_mismatch revenue:merchant"},
		{"accounts below zero",
			[]string{
				`UPDATE ledger_accounts SET posted_debits = posted_debits + 2000 WHERE id = 'refunds:payable'`,
				`UPDATE ledger_accounts SET posted_credits = posted_credits + 2000 WHERE id = 'fees:platform'`,
			},
			"account_balance_mismatch fees:platform, account_balance_mismatch refunds:payable, " +
				"account_negative fees:platform, account_negative refunds:payable"},
		{"a payment fee off the id convention",
			[]string{`INSERT INTO ledger_transfers (id, kind, ref, state, amount, created_at)
				VALUES ('fee-p1', 'payment_fee', '` + orderID + `', 'posted', 1, 0)`,
				`INSERT INTO ledger_entries (transfer_id, position, account_id, side, amount, created_at) VALUES
				('fee-p1', 0, 'fees:platform', 'debit', 1, 0), ('fee-p1', 1, 'clearing:wechat', 'credit', 1, 0)`,
				`UPDATE ledger_accounts SET posted_debits = posted_debits + 1 WHERE id = 'fees:platform'`,
				`UPDATE ledger_accounts SET posted_credits = posted_credits + 1 WHERE id = 'clearing:wechat'`},
			"transfer_id_convention fee-p1"},
		{"a second payment posted for an order",
			[]string{`INSERT INTO ledger_transfers (id, kind, ref, state, amount, created_at)
				VALUES ('payment:p2', 'payment', '` + orderID + `', 'posted', 1000, 0)`,
				`INSERT INTO ledger_entries (transfer_id, position, account_id, side, amount, created_at) VALUES
				('payment:p2', 0, 'clearing:wechat', 'debit', 1000, 0), ('payment:p2', 1, 'revenue:merchant', 'credit', 1000, 0)`,
				`UPDATE ledger_accounts SET posted_debits = posted_debits + 1000 WHERE id = 'clearing:wechat'`,
				`UPDATE ledger_accounts SET posted_credits = posted_credits + 1000 WHERE id = 'revenue:merchant'`},
			"payment_posted_twice " + orderID},
		{"refunds beyond the payment",
			[]string{`UPDATE ledger_transfers SET amount = 1001 WHERE id = 'refund:r1'`,
				`UPDATE ledger_entries SET amount = 1001 WHERE transfer_id = 'refund:r1'`,
				`UPDATE ledger_accounts SET pending_debits = 1001 WHERE id = 'revenue:merchant'`,
				`UPDATE ledger_accounts SET pending_credits = 1001 WHERE id = 'refunds:payable'`},
			// Revenue cannot give back more than it took either.
			"account_negative revenue:merchant, refund_exceeds_payment " + orderID},
		{"a paid order without its payment",
			[]string{`INSERT INTO orders (id, buyer_id, status, subtotal, discount, shipping, total, ship_to, pay_by,
				paid_at, created_at, updated_at) VALUES ('o2', 'b1', 'shipped', 1, 0, 0, 1, '', 0, 0, 0, 0)`},
			"paid_order_payment o2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sealer, err := seal.New(bytes.Repeat([]byte{3}, 32))
			if err != nil {
				t.Fatal(err)
			}
			s, err := Open(filepath.Join(t.TempDir(), "siyu.db"), sealer)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.PostTransfers(ctx, book...); err != nil {
				t.Fatal(err)
			}
			// The order the book pays for, paid: the book is sound before.
			if _, err := s.w.ExecContext(ctx, insertOrder, orderID, "paid"); err != nil {
				t.Fatal(err)
			}
			bs, err := s.CheckLedger(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := rulesOf(bs); got != "" {
				t.Fatalf("before the corruption: %s", got)
			}
			for _, q := range c.sql {
				if _, err := s.w.ExecContext(ctx, q); err != nil {
					t.Fatalf("%v\n%s", err, q)
				}
			}
			bs, err = s.CheckLedger(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := rulesOf(bs); got != c.want {
				t.Fatalf("breaches\n%s\nwant\n%s\n(%+v)", got, c.want, bs)
			}
		})
	}
}

// A caller that ignores a refusal and commits must not commit half of the
// refused call: the helpers roll back to their own savepoint.
func TestLedgerHelpersLeaveNothingWhenRefused(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "siyu.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	pay := func(id string, amount money.Fen) ledger.Transfer {
		return ledger.Transfer{ID: ledger.PaymentID(id), Kind: ledger.KindPayment, Ref: "o-" + id, State: ledger.Posted,
			Entries: []ledger.Entry{ledger.Dr(ledger.ClearingWeChat, amount), ledger.Cr(ledger.MerchantRevenue, amount)}}
	}
	if err := s.PostTransfers(ctx, pay("p1", 100)); err != nil {
		t.Fatal(err)
	}
	// Refused at revenue:merchant, the last of the accounts in lock order:
	// the two before it have moved by then.
	overdraw := ledger.Transfer{ID: ledger.RefundID("r1"), Kind: ledger.KindRefund, Ref: "o-p1", State: ledger.Posted,
		Entries: []ledger.Entry{ledger.Dr(ledger.MerchantRevenue, 500), ledger.Cr(ledger.RefundsPayable, 500)}}
	conflicting := pay("p1", 101)
	for _, c := range []struct {
		name string
		code string
		ts   []ledger.Transfer
	}{
		{"insufficient", ledger.CodeInsufficient, []ledger.Transfer{pay("p2", 50), overdraw}},
		{"conflict", ledger.CodeConflict, []ledger.Transfer{pay("p3", 50), conflicting}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := s.tx(ctx, func(tx *sql.Tx) error {
				if err := postTransfers(ctx, tx, c.ts); !errs.Is(err, c.code) {
					t.Errorf("postTransfers = %v, want %s", err, c.code)
				}
				return nil // commit regardless
			})
			if err != nil {
				t.Fatal(err)
			}
			st, err := s.LedgerStats(ctx)
			if err != nil || st.Transfers != 1 || st.Entries != 2 {
				t.Fatalf("stats %+v, %v: want only payment:p1", st, err)
			}
			if bs, err := s.CheckLedger(ctx); err != nil || rulesOf(bs) != "" {
				t.Fatalf("check: %v %+v", err, bs)
			}
		})
	}
	t.Run("settle of an unknown transfer", func(t *testing.T) {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if err := settleTransfers(ctx, tx, []string{"payment:p1", "refund:none"}, ledger.Posted, time.Now()); !errs.Is(err, ledger.CodeNotFound) {
				t.Errorf("settleTransfers = %v, want not found", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
