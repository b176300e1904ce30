package app_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/presale"
)

// fullMode makes the shop's presale one paid in full with the given steps
// by units and quota.
func fullMode(quota int, steps ...presale.Step) func(*presale.ActivityInput) {
	return func(in *presale.ActivityInput) {
		in.Mode, in.BalanceStartsAt, in.BalanceEndsAt = presale.Full, nil, nil
		in.ShipsBy = in.EndsAt.Add(3 * 24 * time.Hour)
		in.Items[0].Deposit, in.Items[0].Quota, in.Items[0].Steps = 0, quota, steps
	}
}

// stepOf is the price of unit n on steps by units.
func stepOf(steps []presale.Step, n int) money.Fen {
	p := steps[0].Price
	for _, st := range steps {
		if st.FromUnit <= n {
			p = st.Price
		}
	}
	return p
}

// TestPresaleStepRace: buyers racing for the units around two steps, some
// buying one unit and some two (which may straddle a step), each pay for
// every unit exactly the step that unit is on: their units are contiguous,
// never shared, within the quota, and priced unit by unit; the orders'
// totals are those prices. Both engines, in deposit mode and paid in full.
func TestPresaleStepRace(t *testing.T) {
	steps := []presale.Step{{FromUnit: 1, Price: 1000}, {FromUnit: 11, Price: 2000}, {FromUnit: 21, Price: 3000}}
	for _, engine := range apptest.Engines() {
		for _, mode := range []presale.Mode{presale.Full, presale.Deposit} {
			t.Run(string(engine)+"/"+string(mode), func(t *testing.T) {
				s := newPresaleShop(t, engine)
				ctx := context.Background()
				act := s.presale(t, func(in *presale.ActivityInput) {
					if mode == presale.Full {
						fullMode(30, steps...)(in)
						return
					}
					in.Items[0].Quota, in.Items[0].Steps, in.Items[0].Deposit = 30, steps, 200
				})
				people := s.buyers(t, 26)
				s.buy(t, act, people[0], 5)
				s.buy(t, act, people[1], 3) // 8 sold: the race starts 2 units before the first step
				racers := people[2:]
				type bought struct {
					po *presale.Order
					o  *order.Order
				}
				got := make([]bought, len(racers))
				results := raceAll(len(racers), func(i int) error {
					po, o, err := s.app.Presales.Buy(ctx, presale.BuyInput{BuyerID: racers[i].id, ActivityID: act.ID,
						SKUID: s.sku, Qty: 1 + i%3, AddressID: racers[i].address})
					got[i] = bought{po, o}
					return err
				})
				codes := countCodes(t, results)
				for code := range codes {
					if code != "" && code != "presale_sold_out" && code != "presale_busy" {
						t.Fatalf("unexpected refusals: %v", codes)
					}
				}
				var ok []bought
				for i, err := range results {
					if err == nil {
						ok = append(ok, got[i])
					}
				}
				slices.SortFunc(ok, func(a, b bought) int { return a.po.FirstUnit - b.po.FirstUnit })
				next, crossed := 9, 0
				for _, b := range ok {
					if b.po.FirstUnit != next {
						t.Fatalf("purchase %s starts at unit %d, want %d (units shared or skipped)", b.po.ID, b.po.FirstUnit, next)
					}
					var units []money.Fen
					for _, r := range b.po.Runs {
						for range r.Qty {
							units = append(units, r.Price)
						}
					}
					if len(units) != b.po.Qty {
						t.Fatalf("purchase %s: runs %v for %d units", b.po.ID, b.po.Runs, b.po.Qty)
					}
					var sum money.Fen
					for k, p := range units {
						if want := stepOf(steps, next+k); p != want {
							t.Fatalf("unit %d paid %d, its step is %d (runs %v)", next+k, p, want, b.po.Runs)
						}
						sum += p
					}
					if len(b.po.Runs) > 1 {
						crossed++
					}
					want := sum
					if mode == presale.Deposit {
						want = money.Fen(200 * b.po.Qty) // the deposit order charges the deposit
					}
					if b.po.Amount != sum || b.o.Lines[0].Amount != want || b.o.Total != want+b.o.Shipping {
						t.Fatalf("purchase %s: amount %d, order line %d, total %d; units cost %d", b.po.ID, b.po.Amount,
							b.o.Lines[0].Amount, b.o.Total, sum)
					}
					next += b.po.Qty
				}
				a, err := s.app.Presales.Activity(ctx, act.ID)
				if err != nil {
					t.Fatal(err)
				}
				if sold := a.Items[0].Sold; sold != next-1 || sold > 30 {
					t.Fatalf("sold %d, purchases cover units 1..%d", sold, next-1)
				}
				if next-1 < 25 {
					t.Fatalf("only %d units sold of 30 with %d racers: %v", next-1, len(racers), codes)
				}
				t.Logf("%d purchases, %d straddling a step, refusals %v", len(ok), crossed, codes)
			})
		}
	}
}

// TestPresaleTimeSteps: by time, a purchase pays the step in force when it
// is made, announced in the presale's view with its start; the view shows
// the price now.
func TestPresaleTimeSteps(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			s := newPresaleShop(t, engine)
			ctx := context.Background()
			start := s.app.Clock.Now()
			t1, t2 := start.Add(24*time.Hour), start.Add(48*time.Hour)
			act := s.presale(t, func(in *presale.ActivityInput) {
				fullMode(10, presale.Step{FromTime: &start, Price: 1000}, presale.Step{FromTime: &t1, Price: 1500},
					presale.Step{FromTime: &t2, Price: 2000})(in)
				in.Basis = presale.ByTime
			})
			b := s.buyers(t, 1)[0]
			po, _ := s.buy(t, act, b, 1)
			if po.Amount != 1000 {
				t.Fatalf("at the start: %d", po.Amount)
			}
			s.at(t1.Add(6 * time.Hour))
			po, o := s.buy(t, act, b, 2)
			if po.Amount != 3000 || o.Lines[0].Amount != 3000 {
				t.Fatalf("after the first step: %d, line %d", po.Amount, o.Lines[0].Amount)
			}
			v, err := s.app.Presales.PublicActivity(ctx, act.ID)
			if err != nil {
				t.Fatal(err)
			}
			it := v.Items[0]
			if it.Price != 1500 || len(it.Steps) != 3 || !it.Steps[2].FromTime.Equal(t2) {
				t.Fatalf("the view: price %d, steps %+v", it.Price, it.Steps)
			}
		})
	}
}

// TestPresaleCrossedOut: the view shows the SKU's regular price struck
// through only when a sale in the 7 days before the presale began
// justifies it: none without one; the regular price when the SKU sold at it
// that week, and the presale's own cheaper sales do not erase it; none
// when the week before saw it sold lower.
func TestPresaleCrossedOut(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			s := newPresaleShop(t, engine)
			ctx := context.Background()
			people := s.buyers(t, 3)
			crossed := func(a *presale.Activity) *money.Fen {
				v, err := s.app.Presales.PublicActivity(ctx, a.ID)
				if err != nil {
					t.Fatal(err)
				}
				return v.Items[0].CrossedOut
			}
			sell := func(b presaleBuyer) {
				o, err := s.app.Orders.Place(ctx, order.PlaceInput{BuyerID: b.id,
					Lines: []order.LineInput{{SKUID: s.sku, Qty: 1}}, AddressID: b.address})
				if err != nil {
					t.Fatal(err)
				}
				s.pay(t, o)
			}
			first := s.presale(t, fullMode(10, presale.Step{FromUnit: 1, Price: 9900}))
			if c := crossed(first); c != nil {
				t.Fatalf("crossed out %d with no sale to justify it", *c)
			}
			sell(people[0]) // at 119.00
			s.app.Clock.Advance(time.Hour)
			second := s.presale(t, fullMode(10, presale.Step{FromUnit: 1, Price: 9900}))
			if c := crossed(second); c == nil || *c != 11900 {
				t.Fatalf("after a sale at 119.00 the week before: %v", c)
			}
			_, po := s.buy(t, second, people[1], 1)
			s.pay(t, po)
			if c := crossed(second); c == nil || *c != 11900 {
				t.Fatalf("the presale's own sale at 99.00 erased it: %v", c)
			}
			// A presale starting later has that sale at 99.00 in its week.
			s.app.Clock.Advance(time.Minute)
			third := s.presale(t, fullMode(10, presale.Step{FromUnit: 1, Price: 9900}))
			if c := crossed(third); c != nil {
				t.Fatalf("crossed out %d after a sale at 99.00 the week before", *c)
			}
		})
	}
}

// TestPresaleCompliance: publishing refuses a presale selling more than 3
// days, a deposit above 20% of the price it secures, and steps that fall;
// the checks name every failure at once.
func TestPresaleCompliance(t *testing.T) {
	s := newPresaleShop(t, apptest.SQLite)
	ctx := context.Background()
	now := s.app.Clock.Now()
	ends := now.Add(4 * 24 * time.Hour)
	bs, be := ends, ends.Add(24*time.Hour)
	a, err := s.app.Presales.CreateActivity(ctx, presale.ActivityInput{
		Title: "四天预售", Rules: presaleRules, ShareNotice: "好友参与活动可能需要付费", Mode: presale.Deposit,
		StartsAt: now, EndsAt: ends, BalanceStartsAt: &bs, BalanceEndsAt: &be, ShipsBy: be.Add(24 * time.Hour),
		Items: []presale.ItemInput{{SKUID: s.sku, Quota: 5, Deposit: 2001,
			Steps: []presale.Step{{FromUnit: 1, Price: 10000}, {FromUnit: 3, Price: 9000}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.app.Presales.Publish(ctx, a.ID)
	var failed []string
	for _, e := range errs.Fields(err) {
		failed = append(failed, e.Code)
	}
	slices.Sort(failed)
	want := []string{"compliance_deposit_limit", "compliance_presale_duration", "compliance_price_steps"}
	if !slices.Equal(failed, want) {
		t.Fatalf("publish refused with %v (%v), want %v", failed, err, want)
	}
	rep, err := s.app.Presales.Checks(ctx, a.ID)
	if err != nil || rep.Passed {
		t.Fatalf("checks: %+v, %v", rep, err)
	}
}
