package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
)

// ledgerModel is what the book should hold, kept beside it by the property
// test: each account's four sums and sign rule, and the transfers written.
type ledgerModel struct {
	accounts map[string]ledger.Account
	sums     map[string][4]money.Fen // posted dr, posted cr, pending dr, pending cr
	written  []ledger.Transfer       // as posted, for retries
	state    map[string]ledger.State // by id, now
}

const (
	postedDr = iota
	postedCr
	pendingDr
	pendingCr
)

// available is what an account may still give: posted on its normal side
// less pending outflows, written out again here rather than borrowed from
// the ledger package, so a mistake there cannot hide itself.
func (m *ledgerModel) available(id string, s [4]money.Fen) money.Fen {
	if k := m.accounts[id].Kind; k == ledger.Asset || k == ledger.Expense {
		return s[postedDr] - s[postedCr] - s[pendingCr]
	}
	return s[postedCr] - s[postedDr] - s[pendingDr]
}

// apply returns the sums after t, and whether an account that may not go
// negative would fall below zero by a movement that lowers it.
func (m *ledgerModel) apply(t ledger.Transfer) (map[string][4]money.Fen, bool) {
	next := map[string][4]money.Fen{}
	for _, e := range t.Entries {
		s, ok := next[e.Account]
		if !ok {
			s = m.sums[e.Account]
		}
		i := postedDr
		if t.State == ledger.Pending {
			i = pendingDr
		}
		if e.Side == ledger.Credit {
			i++
		}
		s[i] += e.Amount
		next[e.Account] = s
	}
	for id, s := range next {
		before, after := m.available(id, m.sums[id]), m.available(id, s)
		if !m.accounts[id].AllowNegative && after < 0 && after < before {
			return nil, true
		}
	}
	return next, false
}

func testLedgerProperty(t *testing.T, open Opener) {
	t.Run("property: random posts, settles and retries keep every invariant", func(t *testing.T) {
		ctx := context.Background()
		s := open(t)
		run := 0
		rapid.Check(t, func(rt *rapid.T) {
			// One database for every run, each run on accounts of its own:
			// the check must also hold over what earlier runs left.
			run++
			prefix := fmt.Sprintf("prop%d:", run)
			m := &ledgerModel{accounts: map[string]ledger.Account{}, sums: map[string][4]money.Fen{},
				state: map[string]ledger.State{}}
			var ids []string
			for _, a := range []ledger.Account{
				{ID: prefix + "cash", Kind: ledger.Asset},
				{ID: prefix + "bank", Kind: ledger.Asset, AllowNegative: true},
				{ID: prefix + "payable", Kind: ledger.Liability},
				{ID: prefix + "sales", Kind: ledger.Revenue},
				{ID: prefix + "owner", Kind: ledger.Revenue, AllowNegative: true},
				{ID: prefix + "costs", Kind: ledger.Expense},
			} {
				a.Name = a.ID
				if err := s.CreateAccount(ctx, a); err != nil {
					rt.Fatal(err)
				}
				m.accounts[a.ID] = a
				ids = append(ids, a.ID)
			}
			account := rapid.SampledFrom(ids)
			amount := rapid.Int64Range(1, 50)
			n := 0

			pick := func(rt *rapid.T, want ledger.State) (ledger.Transfer, bool) {
				var from []ledger.Transfer
				for _, w := range m.written {
					if want == "" || m.state[w.ID] == want {
						from = append(from, w)
					}
				}
				if len(from) == 0 {
					return ledger.Transfer{}, false
				}
				return rapid.SampledFrom(from).Draw(rt, "transfer"), true
			}

			actions := map[string]func(*rapid.T){
				"post": func(rt *rapid.T) {
					n++
					tr := ledger.Transfer{ID: fmt.Sprintf("%st%d", prefix, n), Kind: "test", Ref: prefix,
						State:     rapid.SampledFrom([]ledger.State{ledger.Posted, ledger.Pending}).Draw(rt, "state"),
						CreatedAt: platformEpoch.Add(time.Duration(n) * time.Second)}
					// Debits first, then the same total cut into credits.
					var total money.Fen
					for range rapid.IntRange(1, 3).Draw(rt, "debits") {
						a := money.Fen(amount.Draw(rt, "amount"))
						total += a
						tr.Entries = append(tr.Entries, ledger.Dr(account.Draw(rt, "account"), a))
					}
					left := total
					for left > 0 {
						a := left
						if left > 1 && rapid.Bool().Draw(rt, "split") {
							a = money.Fen(rapid.Int64Range(1, int64(left-1)).Draw(rt, "cut"))
						}
						tr.Entries = append(tr.Entries, ledger.Cr(account.Draw(rt, "account"), a))
						left -= a
					}
					next, short := m.apply(tr)
					err := s.PostTransfers(ctx, tr)
					if short {
						if !errs.Is(err, ledger.CodeInsufficient) {
							rt.Fatalf("post %+v: %v, want insufficient", tr, err)
						}
						return
					}
					if err != nil {
						rt.Fatalf("post %+v: %v", tr, err)
					}
					for id, sum := range next {
						m.sums[id] = sum
					}
					m.written = append(m.written, tr)
					m.state[tr.ID] = tr.State
				},
				"settle": func(rt *rapid.T) {
					tr, ok := pick(rt, ledger.Pending)
					if !ok {
						return
					}
					to := rapid.SampledFrom([]ledger.State{ledger.Posted, ledger.Voided}).Draw(rt, "to")
					if err := s.SettleTransfer(ctx, tr.ID, to, platformEpoch.Add(time.Hour)); err != nil {
						rt.Fatalf("settle %s to %s: %v", tr.ID, to, err)
					}
					for _, e := range tr.Entries {
						sum := m.sums[e.Account]
						i := 0
						if e.Side == ledger.Credit {
							i = 1
						}
						sum[pendingDr+i] -= e.Amount
						if to == ledger.Posted {
							sum[postedDr+i] += e.Amount
						}
						m.sums[e.Account] = sum
					}
					m.state[tr.ID] = to
				},
				"settle again": func(rt *rapid.T) {
					tr, ok := pick(rt, "")
					if !ok || m.state[tr.ID] == ledger.Pending {
						return
					}
					now := m.state[tr.ID]
					if err := s.SettleTransfer(ctx, tr.ID, now, platformEpoch); err != nil {
						rt.Fatalf("settle %s again to %s: %v", tr.ID, now, err)
					}
					other := ledger.Voided
					if now == ledger.Voided {
						other = ledger.Posted
					}
					if err := s.SettleTransfer(ctx, tr.ID, other, platformEpoch); !errs.Is(err, ledger.CodeConflict) {
						rt.Fatalf("settle %s (%s) to %s: %v, want a conflict", tr.ID, now, other, err)
					}
				},
				"retry": func(rt *rapid.T) {
					tr, ok := pick(rt, "")
					if !ok {
						return
					}
					tr.CreatedAt = tr.CreatedAt.Add(time.Minute)
					if err := s.PostTransfers(ctx, tr); err != nil {
						rt.Fatalf("repost %s: %v", tr.ID, err)
					}
				},
				"reuse an id": func(rt *rapid.T) {
					tr, ok := pick(rt, "")
					if !ok {
						return
					}
					tr.Entries = append([]ledger.Entry{ledger.Dr(tr.Entries[0].Account, 1), ledger.Cr(tr.Entries[0].Account, 1)},
						tr.Entries...)
					if err := s.PostTransfers(ctx, tr); !errs.Is(err, ledger.CodeConflict) {
						rt.Fatalf("post %s changed: %v, want a conflict", tr.ID, err)
					}
				},
			}
			check := func(rt *rapid.T) {
				breaches, err := s.CheckLedger(ctx)
				if err != nil {
					rt.Fatal(err)
				}
				if len(breaches) > 0 {
					rt.Fatalf("breaches: %+v", breaches)
				}
				bs, err := s.Balances(ctx)
				if err != nil {
					rt.Fatal(err)
				}
				for _, b := range bs {
					if _, mine := m.accounts[b.Account.ID]; mine && sums(b) != m.sums[b.Account.ID] {
						rt.Fatalf("%s: sums %v, model %v", b.Account.ID, sums(b), m.sums[b.Account.ID])
					}
				}
			}
			// Up to twelve steps a run, not rt.Repeat's thirty: that reaches
			// every path of this model (post, settle, repeat, reuse) and,
			// each step ending with a full check, keeps the suite quick.
			names := []string{"post", "post", "settle", "settle again", "retry", "reuse an id"}
			for range rapid.IntRange(1, 12).Draw(rt, "steps") {
				actions[rapid.SampledFrom(names).Draw(rt, "action")](rt)
				check(rt)
			}
		})
	})
}
