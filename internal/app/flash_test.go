package app_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/config"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/testenv"
	"github.com/siyu-commerce/siyu/internal/wechat/sandbox"
)

// flashShop is a shop with one flash session of one SKU, open from
// apptest.Start plus a minute for an hour.
type flashShop struct {
	app     *apptest.App
	sku     string
	session *flashsale.Session
}

// flashModes are the hot-path engines a flash test runs on: in process on
// both stores, and Redis on PostgreSQL (the scaled-out deployment).
type flashMode struct {
	name   string
	engine apptest.Engine
	redis  bool
}

func flashModes() []flashMode {
	return []flashMode{{"sqlite-memory", apptest.SQLite, false}, {"postgres-memory", apptest.Postgres, false}, {"postgres-redis", apptest.Postgres, true}}
}

// withRedis points the app at the test Redis under a prefix of its own.
func withRedis(t testing.TB) func(*config.Config) {
	url := testenv.Need(t, testenv.RedisVar)
	return func(c *config.Config) { c.RedisURL = url }
}

func newFlashShop(t testing.TB, m flashMode, quota, limit int) *flashShop {
	t.Helper()
	var mod func(*config.Config)
	if m.redis {
		mod = withRedis(t)
	}
	a := apptest.NewWith(t, m.engine, mod, apptest.Options{FlashPrefix: "siyu:test:" + ids.Token(6) + ":"})
	s := &flashShop{app: a, sku: stockedSKU(t, a, "flash", 5999, 4999)}
	start := a.Clock.Now().Add(time.Minute)
	var err error
	s.session, err = a.Flash.CreateSession(context.Background(), "op", flashsale.NewSession{
		Name: "双十一 · 龙井秒杀", WarmupAt: start.Add(-30 * time.Minute), StartsAt: start, EndsAt: start.Add(time.Hour),
		SKUs: []flashsale.NewSessionSKU{{SKUID: s.sku, Price: 1999, Quota: quota, Limit: limit}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *flashShop) open() { s.app.Clock.Advance(s.session.StartsAt.Sub(s.app.Clock.Now())) }

func (s *flashShop) buy(ctx context.Context, b gbBuyer, request string, qty int) (flashsale.BuyResult, error) {
	return s.app.Flash.Buy(ctx, flashsale.BuyInput{SessionID: s.session.ID, SKUID: s.sku, BuyerID: b.id, Qty: qty,
		AddressID: b.address, RequestID: request})
}

// flush writes every queued win, as the order writers would.
func (s *flashShop) flush(t testing.TB) {
	t.Helper()
	if err := s.app.Flash.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// flashWin is a ticket a buyer was told it won.
type flashWin struct {
	buyer, ticket string
	qty           int
}

// rush has every buyer press at once: buyer i asks for 1 or 2 units; every
// third presses the same request three times (retries after lost answers),
// every fifth presses a second request of its own. It returns the wins.
func (s *flashShop) rush(t testing.TB, buyers []gbBuyer, tag string) []flashWin {
	t.Helper()
	ctx := context.Background()
	var (
		mu   sync.Mutex
		wins []flashWin
		wg   sync.WaitGroup
		fail atomic.Value
	)
	for i, b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reqs := []string{tag + "-first-" + b.id[:8]}
			if i%3 == 0 {
				reqs = append(reqs, reqs[0], reqs[0])
			}
			if i%5 == 0 {
				reqs = append(reqs, tag+"-second-"+b.id[:8])
			}
			for _, r := range reqs {
				res, err := s.buy(ctx, b, r, 1+i%2)
				if err != nil {
					fail.Store(err)
					return
				}
				if res.Outcome == flashsale.Won && !res.Repeat {
					mu.Lock()
					wins = append(wins, flashWin{b.id, res.ReservationID, 1 + i%2})
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := fail.Load().(error); err != nil {
		t.Fatalf("buy: %v", err)
	}
	return wins
}

// checkOrders asserts the database's truth against the wins: every win
// exactly one order of its units at the flash price, no buyer above the
// limit, no order that is not a win, and the session's count and the stock
// agree.
func (s *flashShop) checkOrders(t testing.TB, wins []flashWin, limit int) {
	t.Helper()
	ctx := context.Background()
	units, perBuyer := 0, map[string]int{}
	byBuyer := map[string][]flashWin{}
	for _, w := range wins {
		units += w.qty
		perBuyer[w.buyer] += w.qty
		byBuyer[w.buyer] = append(byBuyer[w.buyer], w)
	}
	for b, n := range perBuyer {
		if n > limit {
			t.Errorf("buyer %s won %d units, limit %d", b, n, limit)
		}
	}
	for b, ws := range byBuyer {
		page, err := s.app.Orders.List(ctx, order.ListFilter{BuyerID: b, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]order.Order{}
		for _, o := range page.Orders {
			if o.Activity == nil || o.Activity.Kind != order.ActivityFlashSale {
				continue
			}
			if _, dup := got[o.Activity.Ref]; dup {
				t.Errorf("ticket %s has two orders", o.Activity.Ref)
			}
			got[o.Activity.Ref] = o
		}
		if len(got) != len(ws) {
			t.Errorf("buyer %s won %d times and has %d flash orders", b, len(ws), len(got))
		}
		for _, w := range ws {
			o, ok := got[w.ticket]
			if !ok {
				t.Errorf("win %s of buyer %s has no order", w.ticket, b)
				continue
			}
			if o.Lines[0].Qty != w.qty || o.Lines[0].Amount != money.Fen(1999*w.qty) || o.Status != order.PendingPayment {
				t.Errorf("win %+v: order %s has %d units for %s, %s", w, o.ID, o.Lines[0].Qty, o.Lines[0].Amount, o.Status)
			}
		}
	}
	sess, err := s.app.Flash.Session(ctx, s.session.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sess.SKUs[0].Won != units {
		t.Errorf("the session counts %d units won, the buyers were told %d", sess.SKUs[0].Won, units)
	}
	// The session's carve holds the whole quota: the ordinary shop cannot
	// sell a unit of it.
	if got := reserved(t, s.app, s.sku); got != int64(sess.SKUs[0].Quota) {
		t.Errorf("reserved stock %d, the session's quota %d", got, sess.SKUs[0].Quota)
	}
}

func TestFlashRush5000BuyersOn500Units(t *testing.T) {
	for _, m := range flashModes() {
		t.Run(m.name, func(t *testing.T) {
			s := newFlashShop(t, m, 500, 2)
			buyers := (&gbShop{app: s.app}).buyers(t, 5000)
			s.open()
			wins := s.rush(t, buyers, "r1")
			s.flush(t)
			total := 0
			for _, w := range wins {
				total += w.qty
			}
			if total != 500 {
				t.Fatalf("%d units won of 500", total)
			}
			s.checkOrders(t, wins, 2)
			// A late press is sold out; a repeat of a win is still a win and
			// takes nothing.
			res, err := s.buy(context.Background(), buyers[1], "late-press-1", 1)
			if err != nil || res.Outcome != flashsale.SoldOut {
				t.Fatalf("after the rush: %+v %v", res, err)
			}
		})
	}
}

func TestFlashGateAndInput(t *testing.T) {
	s := newFlashShop(t, flashModes()[0], 10, 2)
	ctx := context.Background()
	b := (&gbShop{app: s.app}).buyers(t, 1)[0]
	if _, err := s.buy(ctx, b, "before-the-gate", 1); !errs.Is(err, "flash_not_open") {
		t.Fatalf("before the gate: %v", err)
	}
	s.open()
	cases := []struct {
		name string
		in   flashsale.BuyInput
		want string
	}{
		{"unknown session", flashsale.BuyInput{SessionID: ids.New(), SKUID: s.sku, BuyerID: b.id, Qty: 1, AddressID: b.address, RequestID: "request-1"}, "flash_session_not_found"},
		{"SKU not in the session", flashsale.BuyInput{SessionID: s.session.ID, SKUID: ids.New(), BuyerID: b.id, Qty: 1, AddressID: b.address, RequestID: "request-1"}, "not_in_session"},
	}
	for _, c := range cases {
		if _, err := s.app.Flash.Buy(ctx, c.in); !errs.Is(err, c.want) {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
	if res, err := s.buy(ctx, b, "over-the-limit", 3); err != nil || res.Outcome != flashsale.LimitReached {
		t.Fatalf("3 units, limit 2: %+v %v", res, err)
	}
	s.app.Clock.Advance(s.session.EndsAt.Sub(s.app.Clock.Now()))
	if _, err := s.buy(ctx, b, "after-the-end", 1); !errs.Is(err, "flash_ended") {
		t.Fatalf("after the end: %v", err)
	}
}

// TestFlashSessionCloses: after the end, unpaid wins close without going
// back to the (ended) pool, and closing the session gives every unsold unit
// back to the shop: nothing stays reserved.
func TestFlashSessionCloses(t *testing.T) {
	for _, m := range flashModes() {
		t.Run(m.name, func(t *testing.T) {
			s := newFlashShop(t, m, 10, 2)
			ctx := context.Background()
			buyers := (&gbShop{app: s.app}).buyers(t, 3)
			onHand := s.onHand(t)
			s.open()
			wins := s.rush(t, buyers, "c1")
			s.flush(t)
			if len(wins) < 2 {
				t.Fatalf("%d wins; the case needs paid and unpaid ones", len(wins))
			}
			(&gbShop{app: s.app}).pay(t, orderOfTicket(t, s, wins[0]), sandbox.Faults{})
			(&gbShop{app: s.app}).settle(t)
			// Past the end and the close delay: the two unpaid orders close,
			// then the session.
			s.app.Clock.Advance(s.session.EndsAt.Sub(s.app.Clock.Now()) + 6*time.Minute)
			s.app.Drain(t)
			if err := s.app.Flash.CloseEnded(ctx); err != nil {
				t.Fatal(err)
			}
			sess, err := s.app.Flash.Session(ctx, s.session.ID)
			if err != nil {
				t.Fatal(err)
			}
			sold := wins[0].qty
			if sess.Status != flashsale.Closed || sess.SKUs[0].Quota != sold || sess.SKUs[0].Won != sold {
				t.Fatalf("closed session: %+v", sess)
			}
			if got := reserved(t, s.app, s.sku); got != 0 {
				t.Fatalf("%d units still reserved after the close", got)
			}
			if got := s.onHand(t); got != onHand-int64(sold) {
				t.Fatalf("on hand %d, want %d (%d sold)", got, onHand-int64(sold), sold)
			}
			// Closing again changes nothing.
			if err := s.app.Flash.CloseEnded(ctx); err != nil || reserved(t, s.app, s.sku) != 0 {
				t.Fatalf("second close: %v", err)
			}
		})
	}
}

func (s *flashShop) onHand(t testing.TB) int64 {
	t.Helper()
	ls, err := s.app.Inventory.Levels(context.Background(), []string{s.sku})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.Location == inventory.Online {
			return l.OnHand
		}
	}
	return 0
}
