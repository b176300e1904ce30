package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/seal"
	"github.com/siyu-commerce/siyu/internal/store/postgres/pgtest"
)

func openLedgerStore(tb testing.TB) *Store {
	tb.Helper()
	ctx := context.Background()
	sealer, err := seal.New(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	s, err := Open(ctx, pgtest.NewDatabase(tb), sealer)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return s
}

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
	book := []ledger.Transfer{
		{ID: ledger.PaymentID("p1"), Kind: ledger.KindPayment, Ref: "6f1c0b8e-0000-4000-8000-000000000001", State: ledger.Posted,
			Entries: []ledger.Entry{ledger.Dr(ledger.ClearingWeChat, 1000), ledger.Cr(ledger.MerchantRevenue, 1000)}},
		{ID: ledger.PaymentFeeID("p1"), Kind: ledger.KindPaymentFee, Ref: "6f1c0b8e-0000-4000-8000-000000000001", State: ledger.Posted,
			Entries: []ledger.Entry{ledger.Dr(ledger.PlatformFees, 6), ledger.Cr(ledger.ClearingWeChat, 6)}},
		{ID: ledger.RefundID("r1"), Kind: ledger.KindRefund, Ref: "6f1c0b8e-0000-4000-8000-000000000001", State: ledger.Pending,
			Entries: []ledger.Entry{ledger.Dr(ledger.MerchantRevenue, 300), ledger.Cr(ledger.RefundsPayable, 300)}},
	}
	for _, c := range []struct {
		name, sql, want string
	}{
		{"a stored balance changed",
			`UPDATE ledger_accounts SET posted_debits = posted_debits + 1 WHERE id = 'clearing:wechat'`,
			"account_balance_mismatch clearing:wechat, balances_unbalanced balances"},
		{"an entry lost",
			`DELETE FROM ledger_entries WHERE transfer_id = 'payment_fee:p1' AND position = 1`,
			"account_balance_mismatch clearing:wechat, book_unbalanced book, transfer_unbalanced payment_fee:p1"},
		{"an entry's amount changed",
			`UPDATE ledger_entries SET amount = 301 WHERE transfer_id = 'refund:r1' AND position = 0`,
			"account_balance_mismatch revenue:merchant, book_unbalanced book, transfer_unbalanced refund:r1"},
		{"a transfer without entries",
			`INSERT INTO ledger_transfers (id, kind, state, amount, created_at) VALUES ('adjust:1', 'adjust', 'posted', 5, now())`,
			"transfer_unbalanced adjust:1"},
		{"a delta added",
			`INSERT INTO ledger_account_deltas (account_id, posted_debits, posted_credits, pending_debits, pending_credits)
			 VALUES ('clearing:wechat', 1, 0, 0, 0)`,
			"account_balance_mismatch clearing:wechat, balances_unbalanced balances"},
		{"a pending transfer voided without its sums moving",
			`UPDATE ledger_transfers SET state = 'voided' WHERE id = 'refund:r1'`,
			"account_balance_mismatch refunds:payable, account_balance_mismatch revenue:merchant"},
		{"an account below zero",
			`UPDATE ledger_accounts SET posted_debits = posted_debits + 2000 WHERE id = 'refunds:payable';
			 UPDATE ledger_accounts SET posted_credits = posted_credits + 2000 WHERE id = 'fees:platform'`,
			"account_balance_mismatch fees:platform, account_balance_mismatch refunds:payable, " +
				"account_negative fees:platform, account_negative refunds:payable"},
		{"a paid order without its payment",
			`INSERT INTO orders (id, buyer_id, status, subtotal, discount, shipping, total, ship_to, pay_by, paid_at, created_at, updated_at)
			 VALUES ('6f1c0b8e-0000-4000-8000-000000000002', gen_random_uuid(), 'shipped', 1, 0, 0, 1, '', now(), now(), now(), now())`,
			"paid_order_payment 6f1c0b8e-0000-4000-8000-000000000002"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := openLedgerStore(t)
			for i := range book {
				book[i].CreatedAt = t0
			}
			if err := s.PostTransfers(ctx, book...); err != nil {
				t.Fatal(err)
			}
			// The order the book pays for, paid: the book is sound before.
			if _, err := s.pool.Exec(ctx, `INSERT INTO orders (id, buyer_id, status, subtotal, discount, shipping, total,
					ship_to, pay_by, paid_at, created_at, updated_at)
				VALUES ('6f1c0b8e-0000-4000-8000-000000000001', gen_random_uuid(), 'paid', 1000, 0, 0, 1000, '',
					now(), now(), now(), now())`); err != nil {
				t.Fatal(err)
			}
			bs, err := s.CheckLedger(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := rulesOf(bs); got != "" {
				t.Fatalf("before the corruption: %s", got)
			}
			if _, err := s.pool.Exec(ctx, c.sql); err != nil {
				t.Fatal(err)
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
	s := openLedgerStore(t)
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
			err := s.tx(ctx, func(tx pgx.Tx) error {
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
		err := s.tx(ctx, func(tx pgx.Tx) error {
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

// Captures append their movements without locks, while refunds, which lower
// accounts, lock them, fold their deltas and check, and folds run beside
// both. However they interleave, no account that may not go negative goes
// below zero and the book stays sound. At the end a refund of exactly what
// is left passes and one fen more is refused: a lowering write sees every
// committed delta.
func TestLedgerAppendsRaceLoweringWrites(t *testing.T) {
	ctx := context.Background()
	s := openLedgerStore(t)
	const (
		captures, refunds   = 200, 150
		paid, fee, refunded = money.Fen(100), money.Fen(1), money.Fen(170)
	)
	capture := func(i int) []ledger.Transfer {
		id, ref := fmt.Sprint("p", i), fmt.Sprint("o", i)
		return []ledger.Transfer{
			{ID: ledger.PaymentID(id), Kind: ledger.KindPayment, Ref: ref, State: ledger.Posted,
				Entries: []ledger.Entry{ledger.Dr(ledger.ClearingWeChat, paid), ledger.Cr(ledger.MerchantRevenue, paid)}},
			{ID: ledger.PaymentFeeID(id), Kind: ledger.KindPaymentFee, Ref: ref, State: ledger.Posted,
				Entries: []ledger.Entry{ledger.Dr(ledger.PlatformFees, fee), ledger.Cr(ledger.ClearingWeChat, fee)}},
		}
	}
	// Money back out of revenue and clearing, as a refund's is; not of the
	// refund kind, whose per-order rules these orderless transfers would break.
	refund := func(id string, amount money.Fen) ledger.Transfer {
		return ledger.Transfer{ID: "payout:" + id, Kind: "payout", State: ledger.Posted,
			Entries: []ledger.Entry{ledger.Dr(ledger.MerchantRevenue, amount), ledger.Cr(ledger.ClearingWeChat, amount)}}
	}
	fold := func() error {
		return s.tx(ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SELECT siyu_fold_account_deltas(ARRAY(
				SELECT id FROM ledger_accounts ORDER BY id FOR NO KEY UPDATE SKIP LOCKED))`)
			return err
		})
	}

	// The captures and refunds in a fixed shuffle, a few captures first.
	jobs := make([]bool, captures+refunds) // true: a refund
	for i := range refunds {
		jobs[captures+i] = true
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(jobs)-20, func(i, j int) { jobs[20+i], jobs[20+j] = jobs[20+j], jobs[20+i] })

	var (
		writers, folder sync.WaitGroup
		next            atomic.Int64
		ok, short       atomic.Int64
		done            = make(chan struct{})
	)
	for range 12 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				if !jobs[i] {
					if err := s.PostTransfers(ctx, capture(i)...); err != nil {
						t.Errorf("capture %d: %v", i, err)
					}
					continue
				}
				switch err := s.PostTransfers(ctx, refund(fmt.Sprint("r", i), refunded)); {
				case err == nil:
					ok.Add(1)
				case errs.Is(err, ledger.CodeInsufficient):
					short.Add(1)
				default:
					t.Errorf("refund %d: %v", i, err)
				}
			}
		}()
	}
	folder.Add(1)
	go func() {
		defer folder.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := fold(); err != nil {
				t.Errorf("fold: %v", err)
				return
			}
		}
	}()
	writers.Wait()
	close(done)
	folder.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// 200 captures leave 19,800 in clearing: 116 refunds of 170 at most.
	if ok.Load()+short.Load() != refunds || short.Load() < refunds-116 {
		t.Fatalf("%d refunds passed, %d refused; want %d in all, %d refused at least", ok.Load(), short.Load(), refunds, refunds-116)
	}
	capturesOK, refundsOK := money.Fen(captures), money.Fen(ok.Load())
	wantBalances(t, s, map[string][4]money.Fen{
		ledger.ClearingWeChat:  {capturesOK * paid, capturesOK*fee + refundsOK*refunded, 0, 0},
		ledger.MerchantRevenue: {refundsOK * refunded, capturesOK * paid, 0, 0},
		ledger.PlatformFees:    {capturesOK * fee, 0, 0, 0},
	})
	wantSoundBook(t, s)

	// A few captures more with no fold running: their deltas are still
	// there (bar the odd one folded by its own call) when the refunds look.
	for i := range 3 {
		if err := s.PostTransfers(ctx, capture(len(jobs)+i)...); err != nil {
			t.Fatal(err)
		}
	}
	capturesOK += 3
	left := capturesOK*(paid-fee) - refundsOK*refunded // clearing's, below revenue's
	if err := s.PostTransfers(ctx, refund("one fen more", left+1)); !errs.Is(err, ledger.CodeInsufficient) {
		t.Fatalf("a refund of %d with %d left: %v, want refused", left+1, left, err)
	}
	if err := s.PostTransfers(ctx, refund("the rest", left)); err != nil {
		t.Fatalf("a refund of the %d left: %v", left, err)
	}
	// Folding everything moves no sum.
	before, err := s.Balances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := fold(); err != nil {
		t.Fatal(err)
	}
	after, err := s.Balances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("balances before a fold\n%+v\nafter\n%+v", before, after)
	}
	var deltas int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM ledger_account_deltas`).Scan(&deltas); err != nil || deltas != 0 {
		t.Fatalf("%d deltas after a fold of every account, %v", deltas, err)
	}
	wantSoundBook(t, s)
}

// A call that lowers nothing as a whole can lower once its repeats are left
// out: here the payment is recorded already and its fee, alone, would take
// clearing below zero. The check is on what the call writes.
func TestLedgerRepeatsLeftOutBeforeTheCheck(t *testing.T) {
	ctx := context.Background()
	s := openLedgerStore(t)
	pay := ledger.Transfer{ID: ledger.PaymentID("p1"), Kind: ledger.KindPayment, Ref: "o1", State: ledger.Posted,
		Entries: []ledger.Entry{ledger.Dr(ledger.ClearingWeChat, 200), ledger.Cr(ledger.MerchantRevenue, 200)}}
	back := ledger.Transfer{ID: ledger.RefundID("r1"), Kind: ledger.KindRefund, Ref: "o1", State: ledger.Posted,
		Entries: []ledger.Entry{ledger.Dr(ledger.MerchantRevenue, 100), ledger.Cr(ledger.ClearingWeChat, 100)}}
	fee := ledger.Transfer{ID: ledger.PaymentFeeID("p1"), Kind: ledger.KindPaymentFee, Ref: "o1", State: ledger.Posted,
		Entries: []ledger.Entry{ledger.Dr(ledger.PlatformFees, 150), ledger.Cr(ledger.ClearingWeChat, 150)}}
	for _, ts := range [][]ledger.Transfer{{pay}, {back}} {
		if err := s.PostTransfers(ctx, ts...); err != nil {
			t.Fatal(err)
		}
	}
	// As a whole, clearing would gain 200 - 150; the fee alone takes 150 of its 100.
	if err := s.PostTransfers(ctx, pay, fee); !errs.Is(err, ledger.CodeInsufficient) {
		t.Fatalf("PostTransfers = %v, want insufficient", err)
	}
	if _, err := s.Transfer(ctx, fee.ID); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("the refused fee was written: %v", err)
	}
	wantBalances(t, s, map[string][4]money.Fen{
		ledger.ClearingWeChat: {200, 100, 0, 0},
		ledger.PlatformFees:   {0, 0, 0, 0},
	})
	wantSoundBook(t, s)
}

// A binary that predates migration 0014 still posts the way 0007 had it:
// the ledger lock, then siyu_post_transfers without the movements. During a
// rolling deploy that must still write a sound book, beside the new form.
func TestLedgerPostOfTheOldForm(t *testing.T) {
	ctx := context.Background()
	s := openLedgerStore(t)
	if err := s.PostTransfers(ctx, ledger.Transfer{ID: ledger.PaymentID("new"), Kind: ledger.KindPayment, Ref: "o1",
		State: ledger.Posted, Entries: []ledger.Entry{ledger.Dr(ledger.ClearingWeChat, 500), ledger.Cr(ledger.MerchantRevenue, 500)}}); err != nil {
		t.Fatal(err)
	}
	old := func(id string, amount int64, accounts ...string) error {
		return s.tx(ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(1818584167)`)
			if err == nil {
				_, err = tx.Exec(ctx, `SELECT siyu_post_transfers($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
					[]string{id}, []string{"adjust"}, []string{""}, []string{"posted"}, []string{"posted"},
					[]int64{amount}, []time.Time{time.Now()}, []string{id, id}, []int32{0, 1}, accounts,
					[]string{"debit", "credit"}, []int64{amount, amount})
			}
			return err
		})
	}
	if err := old("adjust:1", 200, ledger.ClearingWeChat, ledger.MerchantRevenue); err != nil {
		t.Fatal(err)
	}
	if err := old("adjust:2", 701, ledger.MerchantRevenue, ledger.ClearingWeChat); !errs.Is(ledgerRefusal(err), ledger.CodeInsufficient) {
		t.Fatalf("overdraw of the old form: %v, want insufficient", err)
	}
	if err := old("adjust:3", 700, ledger.MerchantRevenue, ledger.ClearingWeChat); err != nil {
		t.Fatal(err)
	}
	wantBalances(t, s, map[string][4]money.Fen{
		ledger.ClearingWeChat:  {700, 700, 0, 0},
		ledger.MerchantRevenue: {700, 700, 0, 0},
	})
	wantSoundBook(t, s)
}

// BenchmarkCheckLedger times `siyu ledger check` over a book of 1,000,000
// transfers and 2,000,000 entries: 600,000 paid orders with their payments
// and payment transfers, and in every ten transfers also a payment fee, a
// posted and a pending refund (with their refunds) and a refund fee. The
// accounts' sums are then set from the entries, so the book is sound and
// the check does all its work. The book is built by a few INSERT ... SELECT
// (the store's own path would take many minutes), with foreign-key triggers
// off on the loading connection: the rows are consistent by construction.
//
//	SIYU_TEST_DATABASE_URL=postgres://... go test ./internal/store/postgres/ \
//	    -run '^$' -bench BenchmarkCheckLedger -benchtime 3x
func BenchmarkCheckLedger(b *testing.B) {
	ctx := context.Background()
	s := openLedgerStore(b)
	start := time.Now()
	const n = 1_000_000
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		`SET session_replication_role = replica`,
		`INSERT INTO orders (id, buyer_id, status, subtotal, discount, shipping, total, ship_to, pay_by, paid_at, created_at, updated_at)
		 SELECT md5('o' || i)::uuid, md5('b' || i % 5000)::uuid, 'paid', amount, 0, 0, amount, '', at, at, at, at
		 FROM (` + benchBook + `) b WHERE r < 6 ORDER BY 1`,
		`INSERT INTO payments (id, order_id, buyer_id, out_trade_no, amount, payer_openid, state, transaction_id, fee,
			paid_at, created_at, updated_at)
		 SELECT md5('p' || i)::uuid, md5('o' || i)::uuid, md5('b' || i % 5000)::uuid, md5('o' || i), amount, 'openid',
			'succeeded', 'tx' || i, CASE WHEN r = 0 THEN 6 ELSE 0 END, at, at, at
		 FROM (` + benchBook + `) b WHERE r < 6 ORDER BY 1`,
		`INSERT INTO refund_positions (order_id, payment_id, out_trade_no, paid, fee, paid_at, refunded, refund_count)
		 SELECT md5('o' || i)::uuid, md5('p' || i)::uuid, md5('o' || i), amount, 6, at, 800, 2
		 FROM (` + benchBook + `) b WHERE r = 0 ORDER BY 1`,
		`INSERT INTO refunds (id, order_id, buyer_id, payment_id, out_trade_no, out_refund_no, source, reason,
			shipping, amount, fee, total, full_refund, return_goods, state, created_at, updated_at)
		 SELECT md5('r' || i)::uuid, md5('o' || (i - r))::uuid, md5('b' || (i - r) % 5000)::uuid, md5('p' || (i - r))::uuid,
			md5('o' || (i - r)), 'R' || i, 'finance', 'bench', 0, amount, 0, 1000 + (i - r) % 997, false, false,
			CASE r WHEN 7 THEN 'succeeded' ELSE 'processing' END, at, at
		 FROM (` + benchBook + `) b WHERE r IN (7, 8) ORDER BY 1`,
		`INSERT INTO ledger_transfers (id, kind, ref, state, amount, created_at)
		 SELECT id, kind, ref, state, amount, at FROM (` + benchBook + `) b ORDER BY id`,
		`INSERT INTO ledger_entries (transfer_id, position, account_id, side, amount, created_at)
		 SELECT id, p, CASE p WHEN 0 THEN dr ELSE cr END, CASE p WHEN 0 THEN 'debit' ELSE 'credit' END, amount, at
		 FROM (` + benchBook + `) b CROSS JOIN (VALUES (0), (1)) AS pos (p) ORDER BY id, p`,
		`UPDATE ledger_accounts a SET
			posted_debits = s.pd, posted_credits = s.pc, pending_debits = s.qd, pending_credits = s.qc
		 FROM (` + entrySums + `) s WHERE s.account_id = a.id`,
		`RESET session_replication_role`,
		// What autovacuum would have done to tables of this size by now.
		`VACUUM ANALYZE orders, payments, refund_positions, refunds, ledger_accounts, ledger_transfers, ledger_entries`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, n)
		}
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			conn.Release()
			b.Fatalf("%v\n%s", err, q)
		}
	}
	conn.Release()
	st, err := s.LedgerStats(ctx)
	if err != nil || st.Transfers != n || st.Entries != 2*n {
		b.Fatalf("built %+v, %v; want %d transfers", st, err, n)
	}
	b.Logf("built %d transfers in %s", n, time.Since(start).Round(time.Second))

	b.ResetTimer()
	for range b.N {
		bs, err := s.CheckLedger(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(bs) > 0 {
			b.Fatalf("the generated book has breaches: %+v", bs[:min(len(bs), 5)])
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/check")
}

// benchBook is the generated book, one row a transfer: i numbers them and
// r = i % 10 says what each is. Payments (r < 6) pay order i; the rest belong
// to the order of the block's first payment (i - r), whose 1,000 fen and
// more cover the 800 refunded.
const benchBook = `SELECT i, r, at,
	CASE WHEN r < 6 THEN 'payment:' || md5('p' || i)::uuid
		WHEN r = 6 THEN 'payment_fee:' || md5('p' || (i - 6))::uuid
		WHEN r < 9 THEN 'refund:' || md5('r' || i)::uuid
		ELSE 'refund_fee:' || md5('r' || (i - 2))::uuid END AS id,
	CASE WHEN r < 6 THEN 'payment' WHEN r = 6 THEN 'payment_fee' WHEN r < 9 THEN 'refund' ELSE 'refund_fee' END AS kind,
	md5('o' || (i - CASE WHEN r < 6 THEN 0 ELSE r END))::uuid::text AS ref,
	CASE WHEN r = 8 THEN 'pending' ELSE 'posted' END AS state,
	CASE WHEN r < 6 THEN 1000 + i % 997 WHEN r = 6 THEN 6 WHEN r = 7 THEN 500 WHEN r = 8 THEN 300 ELSE 1 END AS amount,
	CASE WHEN r < 6 THEN 'clearing:wechat' WHEN r = 6 THEN 'fees:platform'
		WHEN r < 9 THEN 'revenue:merchant' ELSE 'clearing:wechat' END AS dr,
	CASE WHEN r < 6 THEN 'revenue:merchant' WHEN r = 6 THEN 'clearing:wechat'
		WHEN r < 9 THEN 'refunds:payable' ELSE 'fees:platform' END AS cr
	FROM generate_series(0, $1::int - 1) i,
		LATERAL (SELECT i % 10 AS r, timestamptz '2031-01-01' + i * interval '6 seconds' AS at) x`
