package app_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/groupbuy"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/refund"
	"github.com/siyu-commerce/siyu/internal/share"
	"github.com/siyu-commerce/siyu/internal/wechat/sandbox"
)

// gbShop is an app with one SKU on sale (list 2599, sale 1999 fen, plenty
// of stock) and a published group buy of it: teams of 3, tiers 2 -> 1799
// and 3 -> 1599, unless the test changes the terms.
type gbShop struct {
	app      *apptest.App
	sku      string
	activity *groupbuy.Activity
}

type gbBuyer struct{ id, address string }

var gbCodeSeq atomic.Int64

func newGBShop(t testing.TB, engine apptest.Engine, change func(in *groupbuy.ActivityInput)) *gbShop {
	t.Helper()
	a := apptest.New(t, engine, nil)
	sku := stockedSKU(t, a, "group buy", 2599, 1999)
	s := &gbShop{app: a, sku: sku}
	ctx, now := context.Background(), a.Clock.Now()
	in := groupbuy.ActivityInput{
		Title: "三人团 · 龙井", Rules: "三人成团，24 小时内未成团自动全额退款；成团价更低时自动退还差价。",
		ShareNotice: "好友参与活动可能需要付费", StartsAt: now, EndsAt: now.Add(5 * 24 * time.Hour), TeamSize: 3,
		Items: []groupbuy.ItemInput{{SKUID: s.sku, Quota: 100000, Tiers: []groupbuy.Tier{{Size: 2, Price: 1799}, {Size: 3, Price: 1599}}}},
	}
	if change != nil {
		change(&in)
	}
	gb, err := a.GroupBuys.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if s.activity, err = a.GroupBuys.Publish(ctx, gb.ID); err != nil {
		t.Fatal(err)
	}
	return s
}

// buyers logs in n buyers with an address each.
func (s *gbShop) buyers(t testing.TB, n int) []gbBuyer {
	t.Helper()
	ctx := context.Background()
	out := make([]gbBuyer, n)
	// A few at a time: thousands of buyers one by one take PostgreSQL
	// half a minute.
	var wg sync.WaitGroup
	slots := make(chan struct{}, 8)
	for i := range out {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			_, b, _, err := s.app.Identity.Login(ctx, fmt.Sprintf("gb%d-%d.1", gbCodeSeq.Add(1), time.Now().UnixNano()))
			if err != nil {
				t.Error(err)
				return
			}
			addr, err := s.newAddress(b.ID)
			if err != nil {
				t.Error(err)
				return
			}
			out[i] = gbBuyer{b.ID, addr}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return out
}

// address gives the buyer an address and returns its id.
func (s *gbShop) address(t testing.TB, buyerID string) string {
	t.Helper()
	id, err := s.newAddress(buyerID)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (s *gbShop) newAddress(buyerID string) (string, error) {
	addr, err := s.app.Identity.CreateAddress(context.Background(), buyerID, identity.AddressInput{
		Name: "王小明", Phone: "13800000000", Province: "浙江省", City: "杭州市", District: "西湖区", Detail: "文三路 1 号",
	})
	if err != nil {
		return "", err
	}
	return addr.ID, nil
}

func (s *gbShop) open(ctx context.Context, b gbBuyer) (*groupbuy.Team, *order.Order, error) {
	return s.app.GroupBuys.Open(ctx, groupbuy.OpenInput{BuyerID: b.id, ActivityID: s.activity.ID, SKUID: s.sku, Qty: 1, AddressID: b.address})
}

func (s *gbShop) join(ctx context.Context, teamID string, b gbBuyer) (*groupbuy.Team, *order.Order, error) {
	return s.app.GroupBuys.Join(ctx, groupbuy.JoinInput{BuyerID: b.id, TeamID: teamID, Qty: 1, AddressID: b.address})
}

// pay has the buyer pay the order through the simulator (faults, if any,
// on its callbacks), without waiting for the callback.
func (s *gbShop) pay(t testing.TB, o *order.Order, f sandbox.Faults) {
	t.Helper()
	if _, err := s.app.Payments.Pay(context.Background(), o.BuyerID, o.ID); err != nil {
		t.Fatal(err)
	}
	if f != (sandbox.Faults{}) {
		s.app.PaySandbox.Inject(payment.OutTradeNo(o.ID), f)
	}
	if err := s.app.PaySandbox.PayOrder(payment.OutTradeNo(o.ID)); err != nil {
		t.Fatal(err)
	}
}

// openPaid opens a team led by b and pays the leader's order: the team is open.
func (s *gbShop) openPaid(t testing.TB, b gbBuyer) *groupbuy.Team {
	t.Helper()
	tm, o, err := s.open(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	s.pay(t, o, sandbox.Faults{})
	s.settle(t)
	if tm = s.team(t, tm.ID); tm.Status != groupbuy.TeamOpen {
		t.Fatalf("the leader paid; the team is %s", tm.Status)
	}
	return tm
}

func (s *gbShop) settle(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	for range 3 {
		if err := s.app.PaySandbox.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		s.app.Drain(t)
	}
}

func (s *gbShop) team(t testing.TB, id string) *groupbuy.Team {
	t.Helper()
	tm, err := s.app.Store.Team(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func (s *gbShop) sold(t testing.TB) int64 {
	t.Helper()
	a, err := s.app.Store.GroupBuy(context.Background(), s.activity.ID)
	if err != nil {
		t.Fatal(err)
	}
	return a.Items[0].Sold
}

// refundsOf lists an order's refunds.
func (s *gbShop) refundsOf(t testing.TB, orderID string) []refund.Refund {
	t.Helper()
	page, err := s.app.Store.Refunds(context.Background(), refund.RefundFilter{OrderID: orderID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return page.Refunds
}

// gbRace runs fn n times at once and counts the results by error code
// ("" for success).
func gbRace(t *testing.T, n int, fn func(i int) error) map[string]int {
	t.Helper()
	results := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			results[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	codes := map[string]int{}
	for _, err := range results {
		if err == nil {
			codes[""]++
			continue
		}
		e, ok := errs.As(err)
		if !ok {
			t.Fatalf("unexpected error: %v", err)
		}
		codes[e.Code]++
	}
	return codes
}

// TestGroupBuyLastSeatRace: 200 buyers race for the last seat of a team.
// Exactly one gets it; every other is told the team is full (and may open
// a team of their own); the team never holds more seats than its size.
func TestGroupBuyLastSeatRace(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			s := newGBShop(t, engine, nil)
			bs := s.buyers(t, 202)
			tm := s.openPaid(t, bs[0])
			if _, _, err := s.join(context.Background(), tm.ID, bs[1]); err != nil {
				t.Fatal(err)
			}
			racers := bs[2:]
			codes := gbRace(t, len(racers), func(i int) error {
				_, _, err := s.join(context.Background(), tm.ID, racers[i])
				return err
			})
			if codes[""] != 1 || codes[groupbuy.ErrTeamFull.Code] != len(racers)-1 {
				t.Fatalf("results %v; want 1 seat and %d team_full", codes, len(racers)-1)
			}
			if got := s.team(t, tm.ID); got.Taken != 3 || got.Capacity != 3 {
				t.Fatalf("team %+v", got)
			}
			seats, err := s.app.Store.TeamSeats(context.Background(), tm.ID)
			if err != nil || len(seats) != 3 || s.sold(t) != 3 {
				t.Fatalf("seats %d, sold %d, %v", len(seats), s.sold(t), err)
			}
			// The losers can open teams of their own.
			if _, _, err := s.open(context.Background(), racers[0]); err != nil && codes[""] == 1 {
				if !errs.Is(err, groupbuy.ErrBuyerLimit.Code) { // racers[0] may be the winner, at its limit
					t.Fatalf("a loser opens a team: %v", err)
				}
			}
		})
	}
}

// TestGroupBuyQuotaRace: many more buyers than the quota open teams at
// once; the quota is sold out exactly, never past.
func TestGroupBuyQuotaRace(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			const quota, racers = 15, 60
			s := newGBShop(t, engine, func(in *groupbuy.ActivityInput) { in.Items[0].Quota = quota })
			bs := s.buyers(t, racers)
			codes := gbRace(t, racers, func(i int) error {
				_, _, err := s.open(context.Background(), bs[i])
				return err
			})
			if codes[""] != quota || codes[groupbuy.ErrQuotaExhausted.Code] != racers-quota || s.sold(t) != quota {
				t.Fatalf("results %v, sold %d; quota %d", codes, s.sold(t), quota)
			}
			if r := reserved(t, s.app, s.sku); r != quota {
				t.Fatalf("reserved %d units for %d seats", r, quota)
			}
		})
	}
}

// TestGroupBuyExpireRacesTheLastPayment: a team of 2 whose member pays at
// its deadline, the payment's callback arriving while the expire job and
// the order's close job run. The platform's time of payment decides, not
// who gets the row first: paid in time, the team succeeds and nobody is
// refunded; paid after the deadline, that money and the leader's go back,
// once each.
func TestGroupBuyExpireRacesTheLastPayment(t *testing.T) {
	for _, engine := range apptest.Engines() {
		for _, late := range []bool{false, true} {
			name := map[bool]string{false: "in_time", true: "late"}[late]
			t.Run(string(engine)+"/"+name, func(t *testing.T) {
				s := newGBShop(t, engine, func(in *groupbuy.ActivityInput) {
					in.TeamSize, in.Items[0].Tiers = 2, []groupbuy.Tier{{Size: 2, Price: 1599}}
				})
				ctx := context.Background()
				bs := s.buyers(t, 2)
				tm := s.openPaid(t, bs[0])
				// The member joins 10 minutes before the deadline: the
				// order must be paid by the team's deadline, not its own
				// 15-minute window.
				s.app.Clock.Advance(tm.ExpiresAt.Sub(s.app.Clock.Now()) - 10*time.Minute)
				_, mo, err := s.join(ctx, tm.ID, bs[1])
				if err != nil {
					t.Fatal(err)
				}
				if !mo.PayBy.Equal(*tm.ExpiresAt) {
					t.Fatalf("the member's order is to be paid by %v, the team's deadline is %v", mo.PayBy, tm.ExpiresAt)
				}
				if _, err := s.app.Payments.Pay(ctx, mo.BuyerID, mo.ID); err != nil {
					t.Fatal(err)
				}
				no := payment.OutTradeNo(mo.ID)
				until := tm.ExpiresAt.Sub(s.app.Clock.Now())
				var payErr error
				var wg sync.WaitGroup
				if late {
					// The deadline passes; the buyer pays while its jobs run.
					s.app.Clock.Advance(until + time.Second)
					wg.Go(func() { s.app.Drain(t) })
					payErr = s.app.PaySandbox.PayOrder(no)
				} else {
					// The buyer pays a second before the deadline; the
					// callback is still on its way when the deadline's jobs run.
					s.app.PaySandbox.Inject(no, sandbox.Faults{Delay: 30 * time.Millisecond})
					s.app.Clock.Advance(until - time.Second)
					payErr = s.app.PaySandbox.PayOrder(no)
					s.app.Clock.Advance(2 * time.Second)
					wg.Go(func() { s.app.Drain(t) })
				}
				wg.Wait()
				s.app.Clock.Advance(time.Second)
				s.settle(t)
				s.app.Clock.Advance(10 * time.Minute) // refund reconciliation, if a callback is slow
				s.settle(t)

				got := s.team(t, tm.ID)
				member, err := s.app.Store.Order(ctx, mo.ID)
				if err != nil {
					t.Fatal(err)
				}
				leaderOrder := s.leaderOrder(t, tm.ID)
				switch {
				case !late:
					if payErr != nil || got.Status != groupbuy.TeamSucceeded || member.Status != order.Paid || member.Held {
						t.Fatalf("paid in time: pay %v, team %s, member order %s held %v", payErr, got.Status, member.Status, member.Held)
					}
					for _, id := range []string{mo.ID, leaderOrder} {
						if rs := s.refundsOf(t, id); len(rs) != 0 {
							t.Fatalf("order %s refunded: %+v", id, rs)
						}
					}
				default:
					if got.Status != groupbuy.TeamFailed {
						t.Fatalf("paid late: team %s", got.Status)
					}
					if rs := s.refundsOf(t, leaderOrder); len(rs) != 1 || rs[0].State != refund.Succeeded || !rs[0].Full {
						t.Fatalf("the leader's refunds: %+v", rs)
					}
					// The late payment either never went through (the close
					// got there first) or is given back, once.
					rs := s.refundsOf(t, mo.ID)
					switch {
					case payErr != nil && member.Status == order.Closed && len(rs) == 0:
					case payErr == nil && member.Status == order.Refunded && len(rs) == 1 && rs[0].Full:
					default:
						t.Fatalf("late member: pay %v, order %s, refunds %+v", payErr, member.Status, rs)
					}
				}
				checkLedger(t, s.app)
			})
		}
	}
}

func (s *gbShop) leaderOrder(t testing.TB, teamID string) string {
	t.Helper()
	seats, err := s.app.Store.TeamSeats(context.Background(), teamID)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range seats {
		if st.Leader {
			return st.OrderID
		}
	}
	t.Fatal("no leader seat")
	return ""
}

// flakyRefunds fails the first calls of each method, as a payment platform
// or database outage would: the settle and refund jobs must retry.
type flakyRefunds struct {
	groupbuy.Refunds
	mu    sync.Mutex
	fails map[string]int
}

func (f *flakyRefunds) fail(what string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails[what] > 0 {
		f.fails[what]--
		return errs.E(errs.Unavailable, "refund_unavailable", "the refund service is down")
	}
	return nil
}

func (f *flakyRefunds) Refund(ctx context.Context, in refund.RefundInput) (*refund.Refund, error) {
	if err := f.fail("refund"); err != nil {
		return nil, err
	}
	return f.Refunds.Refund(ctx, in)
}

func (f *flakyRefunds) Adjust(ctx context.Context, in refund.AdjustInput) (*refund.Refund, error) {
	if err := f.fail("adjust"); err != nil {
		return nil, err
	}
	return f.Refunds.Adjust(ctx, in)
}

// crashingOrders fails Release the first times, after the adjustment was
// made: a crash between the two steps of a settle job.
type crashingOrders struct {
	groupbuy.Orders
	releases atomic.Int32
}

func (c *crashingOrders) Release(ctx context.Context, id string) (*order.Order, error) {
	if c.releases.Add(1) <= 2 {
		return nil, errs.E(errs.Unavailable, "crash", "the replica died")
	}
	return c.Orders.Release(ctx, id)
}

// TestGroupBuySettlementRetries: the money jobs run outside every team
// transaction and retry; a retried or resumed job pays back once (the keys
// hold), and the orders are released once the difference is back.
func TestGroupBuySettlementRetries(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			s := newGBShop(t, engine, nil)
			ctx := context.Background()
			s.app.GroupBuys.Refunds = &flakyRefunds{Refunds: s.app.Refunds, fails: map[string]int{"adjust": 3, "refund": 3}}
			crash := &crashingOrders{Orders: s.app.Orders}
			s.app.GroupBuys.Orders = crash
			bs := s.buyers(t, 5)

			// One team fills: two seats get a difference back, every order ships.
			tm := s.openPaid(t, bs[0])
			var orders []*order.Order
			for _, b := range bs[1:3] {
				_, o, err := s.join(ctx, tm.ID, b)
				if err != nil {
					t.Fatal(err)
				}
				s.pay(t, o, sandbox.Faults{})
				orders = append(orders, o)
			}
			// Another fails: its leader is refunded.
			failed := s.openPaid(t, bs[3])
			for range 12 {
				s.settle(t)
				s.app.Clock.Advance(5 * time.Minute)
			}
			s.app.Clock.Advance(24 * time.Hour)
			for range 12 {
				s.settle(t)
				s.app.Clock.Advance(5 * time.Minute)
			}
			if got := s.team(t, tm.ID); got.Status != groupbuy.TeamSucceeded {
				t.Fatalf("team %s", got.Status)
			}
			for i, id := range []string{s.leaderOrder(t, tm.ID), orders[0].ID, orders[1].ID} {
				rs := s.refundsOf(t, id)
				want := map[int]int{0: 1, 1: 1, 2: 0}[i] // the leader and the first member paid 1799, the last 1599
				if len(rs) != want || (want == 1 && (rs[0].Source != refund.Adjustment || rs[0].Amount != 200 || rs[0].State != refund.Succeeded)) {
					t.Fatalf("order %d refunds: %+v", i, rs)
				}
				o, err := s.app.Store.Order(ctx, id)
				if err != nil || o.Held || o.Status != order.Paid {
					t.Fatalf("order %d: %+v, %v", i, o, err)
				}
			}
			if got := s.team(t, failed.ID); got.Status != groupbuy.TeamFailed {
				t.Fatalf("failed team %s", got.Status)
			}
			if rs := s.refundsOf(t, s.leaderOrder(t, failed.ID)); len(rs) != 1 || !rs[0].Full || rs[0].State != refund.Succeeded {
				t.Fatalf("the failed team's refunds: %+v", rs)
			}
			if crash.releases.Load() < 5 {
				t.Fatalf("Release called %d times; the crashes were not retried", crash.releases.Load())
			}
			checkLedger(t, s.app)
		})
	}
}

// TestGroupBuySeatsProperty: whatever mix of joins, cancellations and
// payments races on a team, it never holds more seats than its size, its
// counts are its live seats, and the activity's sold units are the live
// seats' units.
func TestGroupBuySeatsProperty(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			s := newGBShop(t, engine, func(in *groupbuy.ActivityInput) {
				in.TeamSize, in.PerBuyerLimit = 5, 99
				in.Items[0].Tiers = []groupbuy.Tier{{Size: 2, Price: 1899}, {Size: 3, Price: 1799}, {Size: 5, Price: 1599}}
			})
			pool := s.buyers(t, 10)
			ctx := context.Background()
			rapid.Check(t, func(rt *rapid.T) {
				// A leader of its own for every team: helpers fail through t,
				// as rapid runs in the test's goroutine.
				tm := s.openPaid(t, s.buyers(t, 1)[0])
				ops := rapid.SliceOfN(rapid.IntRange(0, 2), 1, 12).Draw(rt, "ops")
				who := rapid.SliceOfN(rapid.IntRange(1, len(pool)-1), len(ops), len(ops)).Draw(rt, "who")
				var mu sync.Mutex
				var placed []*order.Order
				var wg sync.WaitGroup
				for i, op := range ops {
					wg.Go(func() {
						switch op {
						case 0, 1: // join, and with 1 also pay
							_, o, err := s.join(ctx, tm.ID, pool[who[i]])
							if err != nil {
								return
							}
							mu.Lock()
							placed = append(placed, o)
							mu.Unlock()
							if op == 1 {
								_, _ = s.app.Payments.Pay(ctx, o.BuyerID, o.ID)
								_ = s.app.PaySandbox.PayOrder(payment.OutTradeNo(o.ID))
							}
						case 2: // cancel somebody's unpaid order
							mu.Lock()
							var o *order.Order
							if len(placed) > 0 {
								o = placed[who[i]%len(placed)]
							}
							mu.Unlock()
							if o != nil {
								_, _ = s.app.Orders.Cancel(ctx, o.BuyerID, o.ID)
							}
						}
					})
				}
				wg.Wait()
				s.settle(t)
				got := s.team(t, tm.ID)
				seats, err := s.app.Store.TeamSeats(ctx, tm.ID)
				if err != nil {
					rt.Fatal(err)
				}
				live, paid := 0, 0
				for _, st := range seats {
					if st.State.Live() {
						live++
					}
					if st.State == groupbuy.SeatPaid {
						paid++
					}
				}
				if got.Taken > got.Capacity || got.Taken != live || got.Paid != paid {
					rt.Fatalf("team %+v; %d live seats, %d paid of %d", got, live, paid, len(seats))
				}
				var units int64
				f := groupbuy.TeamFilter{ActivityID: s.activity.ID, Limit: 100}
				for {
					page, err := s.app.Store.Teams(ctx, f)
					if err != nil {
						rt.Fatal(err)
					}
					for _, other := range page.Teams {
						ss, err := s.app.Store.TeamSeats(ctx, other.ID)
						if err != nil {
							rt.Fatal(err)
						}
						for _, st := range ss {
							if st.State.Live() {
								units += int64(st.Qty)
							}
						}
					}
					if page.NextCursor == "" {
						break
					}
					f.Cursor = page.NextCursor
				}
				if sold := s.sold(t); sold != units {
					rt.Fatalf("sold %d, live seats hold %d", sold, units)
				}
			})
		})
	}
}

// TestTeamShareRecordsItsActivity: a share of a team records the team's
// group buy whatever activity the request names, so a client cannot steer
// the per-activity numbers (the K-factor); a team that has ended cannot be
// shared.
func TestTeamShareRecordsItsActivity(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			s := newGBShop(t, engine, nil)
			ctx := context.Background()
			bs := s.buyers(t, 1)
			tm, _, err := s.open(ctx, bs[0])
			if err != nil {
				t.Fatal(err)
			}
			for _, claimed := range []string{"", ids.New()} {
				m, err := s.app.Shares.Create(ctx, bs[0].id, share.NewShare{TargetKind: share.Team, TargetID: tm.ID, ActivityID: claimed})
				if err != nil {
					t.Fatal(err)
				}
				if m.Share.ActivityID != s.activity.ID {
					t.Fatalf("a team share claiming activity %q recorded %q; want the team's %s", claimed, m.Share.ActivityID, s.activity.ID)
				}
			}
			if _, err := s.app.Shares.Create(ctx, bs[0].id, share.NewShare{TargetKind: share.Team, TargetID: ids.New()}); !errs.Is(err, share.ErrTargetAbsent.Code) {
				t.Fatalf("sharing a team that does not exist: %v", err)
			}
		})
	}
}
