package affiliate

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
)

func twoTier() Program {
	p := DefaultProgram()
	p.Tiers, p.Rates = 2, []money.BP{1000, 500}
	return p
}

func testOrder(amounts ...money.Fen) *order.Order {
	o := &order.Order{ID: "o1", BuyerID: "b"}
	for i, a := range amounts {
		o.Lines = append(o.Lines, order.Line{ID: string(rune('a' + i)), ProductID: "p", SKUID: "s", Amount: a})
	}
	return o
}

func TestComputeSplitsThePoolByLargestRemainder(t *testing.T) {
	p := twoTier()
	cs := Compute(p, NewRates(p, nil), testOrder(999, 1), []Earner{{"A", 1}, {"B", 2}})
	// 999 * 15% = 149.85 -> pool 149, split 10:5 -> 99.33 / 49.67 -> 99, 50.
	// 1 * 15% floors to 0: no commission on the second line.
	if len(cs) != 2 || cs[0].Amount != 99 || cs[1].Amount != 50 || cs[0].Tier != 1 || cs[1].PromoterID != "B" {
		t.Fatalf("commissions: %+v", cs)
	}
	// One tier only: the second earner gets nothing even if listed.
	p1 := DefaultProgram()
	if cs := Compute(p1, NewRates(p1, nil), testOrder(1000), []Earner{{"A", 1}, {"B", 2}}); len(cs) != 1 || cs[0].Amount != 100 {
		t.Fatalf("one tier: %+v", cs)
	}
	// A SKU rule wins over the product's and the default.
	r := NewRates(p, []Rule{{Scope: ScopeProduct, TargetID: "p", Rates: []money.BP{800}}, {Scope: ScopeSKU, TargetID: "s", Rates: []money.BP{1500, 0}}})
	if cs := Compute(p, r, testOrder(1000), []Earner{{"A", 1}, {"B", 2}}); len(cs) != 1 || cs[0].Amount != 150 {
		t.Fatalf("sku rule: %+v", cs)
	}
}

func TestReverseInProportionThenClawBack(t *testing.T) {
	p := twoTier()
	cs := Compute(p, NewRates(p, nil), testOrder(1000), []Earner{{"A", 1}, {"B", 2}}) // 100, 50
	changed, ts := Reverse(cs, Refunded(cs, []RefundedLine{{"a", 333}}, 333, false), "r1", "o1")
	// taken back: ceil(100*333/1000)=34, ceil(50*333/1000)=17
	if changed[0].Reversed != 34 || changed[1].Reversed != 17 || len(ts) != 1 || ts[0].Amount() != 51 {
		t.Fatalf("partial: %+v %+v", changed, ts)
	}
	settled, st := Settle(changed, "s1", "o1", time.Now())
	if settled[0].Settled != 66 || settled[1].Settled != 33 || st[0].Amount() != 99 {
		t.Fatalf("settle: %+v %+v", settled, st)
	}
	// The rest refunded after settlement: clawed back from the accounts.
	changed, ts = Reverse(settled, Refunded(settled, nil, 0, true), "r2", "o1")
	if changed[0].ClawedBack != 66 || changed[1].ClawedBack != 33 || len(ts) != 1 || ts[0].Kind != KindClawback || ts[0].Amount() != 99 {
		t.Fatalf("clawback: %+v %+v", changed, ts)
	}
	for _, c := range changed {
		if c.Earned() != 0 {
			t.Fatalf("a full refund left %d earned", c.Earned())
		}
	}
}

func TestBindingRules(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cur := &Binding{BuyerID: "x", PromoterID: "A", BoundAt: t0}
	for _, c := range []struct {
		name  string
		mode  BindMode
		cur   *Binding
		next  Binding
		chain []string
		want  error
	}{
		{"self", FirstTouch, nil, Binding{BuyerID: "x", PromoterID: "x"}, []string{"x"}, ErrSelfBinding},
		{"cycle", LastTouch, nil, Binding{BuyerID: "x", PromoterID: "B"}, []string{"B", "x"}, ErrCycle},
		{"first binds", FirstTouch, nil, Binding{BuyerID: "x", PromoterID: "B", BoundAt: t0}, []string{"B"}, nil},
		{"first keeps", FirstTouch, cur, Binding{BuyerID: "x", PromoterID: "B", BoundAt: t0.Add(time.Hour)}, []string{"B"}, ErrNoop},
		{"last rebinds", LastTouch, cur, Binding{BuyerID: "x", PromoterID: "B", BoundAt: t0.Add(time.Hour)}, []string{"B"}, nil},
		{"last ignores older", LastTouch, cur, Binding{BuyerID: "x", PromoterID: "B", BoundAt: t0.Add(-time.Hour)}, []string{"B"}, ErrNoop},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := DefaultProgram()
			p.Binding, p.BindDays = c.mode, 0
			next := c.next
			if err := decideBinding(p, c.cur, &next, c.chain); err != c.want {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	p := DefaultProgram() // first touch, expiring after 30 days
	exp := t0.AddDate(0, 0, 30)
	held := &Binding{BuyerID: "x", PromoterID: "A", BoundAt: t0, ExpiresAt: &exp}
	early := Binding{BuyerID: "x", PromoterID: "B", BoundAt: t0.AddDate(0, 0, 29)}
	if err := decideBinding(p, held, &early, []string{"B"}); err != ErrNoop {
		t.Fatalf("rebound inside the window: %v", err)
	}
	late := Binding{BuyerID: "x", PromoterID: "B", BoundAt: exp}
	if err := decideBinding(p, held, &late, []string{"B"}); err != nil || late.ExpiresAt == nil || !late.ExpiresAt.Equal(exp.AddDate(0, 0, 30)) {
		t.Fatalf("after expiry: %v %+v", err, late)
	}
}

func TestThirdTierNeedsSignOff(t *testing.T) {
	p := DefaultProgram()
	p.Tiers, p.Rates = 3, []money.BP{800, 400, 200}
	if err := p.Validate(false); err == nil {
		t.Fatal("a third tier validated without a sign-off")
	}
	if err := p.Validate(true); err != nil {
		t.Fatal(err)
	}
	p.Rates = []money.BP{2000, 1000, 500}
	if err := p.Validate(true); err == nil {
		t.Fatal("rates over the cap validated")
	}
}

// TestCommissionProperty: over random orders, refunds and settlements, no
// commission exceeds the program's share of what still stands, a full
// refund takes everything back, and every transfer balances with the
// commission rows: pending on the ledger = the rows' open parts, each
// promoter's account = settled less clawed back.
func TestCommissionProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := twoTier()
		p.Rates = []money.BP{money.BP(rapid.IntRange(0, 2000).Draw(t, "r1")), money.BP(rapid.IntRange(0, 1000).Draw(t, "r2"))}
		n := rapid.IntRange(1, 4).Draw(t, "lines")
		var amounts []money.Fen
		for i := 0; i < n; i++ {
			amounts = append(amounts, money.Fen(rapid.Int64Range(1, 100000).Draw(t, "amount")))
		}
		o := testOrder(amounts...)
		cs := Compute(p, NewRates(p, nil), o, []Earner{{"A", 1}, {"B", 2}})
		var ts []ledger.Transfer
		ts = append(ts, Accrual(cs, o.ID)...)
		refunded := map[string]money.Fen{}
		settled := false
		for step := 0; step < rapid.IntRange(0, 6).Draw(t, "steps"); step++ {
			if !settled && rapid.Bool().Draw(t, "settle") {
				var st []ledger.Transfer
				cs, st = Settle(cs, "s1", o.ID, time.Now())
				ts, settled = append(ts, st...), true
				continue
			}
			li := rapid.IntRange(0, n-1).Draw(t, "line")
			l := o.Lines[li]
			amt := money.Fen(rapid.Int64Range(1, int64(l.Amount)).Draw(t, "refund"))
			if refunded[l.ID]+amt > l.Amount {
				amt = l.Amount - refunded[l.ID]
			}
			if amt == 0 {
				continue
			}
			refunded[l.ID] += amt
			var rt []ledger.Transfer
			var changed []Commission
			changed, rt = Reverse(cs, Refunded(cs, []RefundedLine{{l.ID, amt}}, amt, false), "r"+string(rune('0'+step)), o.ID)
			cs = merge(cs, changed)
			ts = append(ts, rt...)
		}
		sums := map[string]money.Fen{} // credit-normal balance per account
		for _, x := range ts {
			if err := ledger.Validate(x); err != nil {
				t.Fatal(err)
			}
			for _, e := range x.Entries {
				if e.Side == ledger.Credit {
					sums[e.Account] += e.Amount
				} else {
					sums[e.Account] -= e.Amount
				}
			}
		}
		var open money.Fen
		perPromoter := map[string]money.Fen{}
		lineTotal := map[string]money.Fen{}
		for _, c := range cs {
			open += c.Open()
			perPromoter[c.PromoterID] += c.Settled - c.ClawedBack
			lineTotal[c.LineID] += c.Earned()
			if c.Earned() < 0 || c.Reversed+c.Settled > c.Amount || c.ClawedBack > c.Settled {
				t.Fatalf("commission out of bounds: %+v", c)
			}
		}
		if sums[PendingAccount] != open {
			t.Fatalf("pending on the ledger %d, rows %d", sums[PendingAccount], open)
		}
		for pr, v := range perPromoter {
			if sums[Account(pr)] != v {
				t.Fatalf("promoter %s: ledger %d, rows %d", pr, sums[Account(pr)], v)
			}
		}
		for _, l := range o.Lines {
			standing := l.Amount - refunded[l.ID]
			if capAmt := floorRate(standing, p.MaxShare); lineTotal[l.ID] > capAmt {
				t.Fatalf("line %s earns %d over the cap %d of %d standing", l.ID, lineTotal[l.ID], capAmt, standing)
			}
			if standing == 0 && lineTotal[l.ID] != 0 {
				t.Fatalf("line %s refunded in full still earns %d", l.ID, lineTotal[l.ID])
			}
		}
	})
}

func merge(cs, changed []Commission) []Commission {
	by := map[string]Commission{}
	for _, c := range changed {
		by[c.ID] = c
	}
	out := make([]Commission, len(cs))
	for i, c := range cs {
		if x, ok := by[c.ID]; ok {
			c = x
		}
		out[i] = c
	}
	return out
}
