package app_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/config"
)

// bargainShop is an app with one SKU on sale (list 5999, sale 4999 fen,
// plenty of stock) and buyers whose accounts are old enough to help.
type bargainShop struct {
	app *apptest.App
	sku string
}

type bargainBuyer struct{ id, address string }

var bargainCodes sync.Mutex
var bargainCodeSeq int

func newBargainShop(t testing.TB, engine apptest.Engine, mod func(*config.Config)) *bargainShop {
	t.Helper()
	a := apptest.New(t, engine, mod)
	sku := stockedSKU(t, a, "bargain", 5999, 4999)
	return &bargainShop{app: a, sku: sku}
}

// buyers logs in n buyers with an address each. Their accounts are as old
// as the clock says: advance it before they help.
func (s *bargainShop) buyers(t testing.TB, n int) []bargainBuyer {
	t.Helper()
	ctx := context.Background()
	out := make([]bargainBuyer, n)
	for i := range out {
		bargainCodes.Lock()
		bargainCodeSeq++
		code := fmt.Sprintf("bargain%d-%d.1", bargainCodeSeq, time.Now().UnixNano())
		bargainCodes.Unlock()
		_, b, _, err := s.app.Identity.Login(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		addr, err := s.app.Identity.CreateAddress(ctx, b.ID, identity.AddressInput{
			Name: "王小明", Phone: "13800000000", Province: "浙江省", City: "杭州市", District: "西湖区", Detail: "文三路 1 号",
		})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = bargainBuyer{b.ID, addr.ID}
	}
	return out
}

func bargainPtr[T any](v T) *T { return &v }

// activity publishes an activity starting now: 5 helpers from 5999 to 0,
// buy at the current price allowed, unless change says otherwise.
func (s *bargainShop) activity(t testing.TB, change func(*bargain.ActivityInput)) *bargain.Activity {
	t.Helper()
	ctx := context.Background()
	now := s.app.Clock.Now()
	in := bargain.ActivityInput{
		Title: "好友帮砍，砍到 0 元", Rules: "邀请 5 位好友帮忙，每位好友砍掉的金额在活动页公布，砍到 0 元免费拿。",
		ShareNotice: "好友参与活动可能需要付费", StartsAt: now, EndsAt: now.Add(72 * time.Hour), SKUID: s.sku,
		FromPrice: 5999, FloorPrice: 0, Helpers: 5, BuyAtCurrent: true, Quota: 1000,
	}
	if change != nil {
		change(&in)
	}
	a, err := s.app.Bargains.CreateActivity(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if a, err = s.app.Bargains.Publish(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	return a
}

func (s *bargainShop) help(b *bargain.Bargain, helper bargainBuyer, device, ip string) (*bargain.Help, *bargain.Bargain, error) {
	return s.app.Bargains.Help(context.Background(), bargain.HelpInput{BargainID: b.ID, HelperID: helper.id, DeviceID: device, IP: ip})
}

// raceAll runs fn n times at once and returns the errors by index.
func raceAll(n int, fn func(i int) error) []error {
	out := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

func countCodes(t *testing.T, results []error) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, err := range results {
		if err == nil {
			got[""]++
			continue
		}
		e, ok := errs.As(err)
		if !ok {
			t.Fatalf("unexpected error: %v", err)
		}
		got[e.Code]++
	}
	return got
}

// TestBargainRaces: helpers racing on one bargain never take more than its
// N slots and the price never goes below the floor; the same helper racing
// themself helps once; one buyer racing opens gets one bargain; buyers
// racing to order never pass the quota.
func TestBargainRaces(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			s := newBargainShop(t, engine, nil)
			ctx := context.Background()
			people := s.buyers(t, 52)
			initiators, helpers := people[:12], people[12:]
			s.app.Clock.Advance(8 * 24 * time.Hour) // old enough, and not a new-account cluster
			act := s.activity(t, func(in *bargain.ActivityInput) { in.FloorPrice = 999; in.Quota = 3 })

			// 40 helpers, each from their own device and address, race
			// for the 5 slots of one bargain.
			b, err := s.app.Bargains.Open(ctx, initiators[0].id, act.ID)
			if err != nil {
				t.Fatal(err)
			}
			results := raceAll(len(helpers), func(i int) error {
				_, _, err := s.help(b, helpers[i], fmt.Sprintf("dev-%d", i), fmt.Sprintf("10.1.0.%d", i))
				return err
			})
			if got := countCodes(t, results); got[""] != 5 || got["bargain_complete"] != len(helpers)-5 {
				t.Fatalf("outcomes %v; want 5 helps, the rest bargain_complete", got)
			}
			after, err := s.app.Bargains.Bargain(ctx, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			if after.Cuts != 5 || after.Price != 999 || after.Status != bargain.Succeeded {
				t.Fatalf("after the race: %+v", after)
			}
			page, err := s.app.Bargains.Helps(ctx, bargain.HelpFilter{BargainID: b.ID, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var cut money.Fen
			for _, h := range page.Helps {
				cut += h.Amount
			}
			if len(page.Helps) != 5 || cut != 5999-999 {
				t.Fatalf("%d helps cutting %d", len(page.Helps), cut)
			}

			// One helper, ten requests at once: one help, one cut.
			b2, err := s.app.Bargains.Open(ctx, initiators[1].id, act.ID)
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]string, 10)
			results = raceAll(10, func(i int) error {
				h, _, err := s.help(b2, helpers[0], "dev-0", "10.1.0.0")
				if err == nil {
					ids[i] = h.ID
				}
				return err
			})
			if got := countCodes(t, results); got[""] != 10 {
				t.Fatalf("repeats: %v", got)
			}
			for _, id := range ids {
				if id != ids[0] {
					t.Fatalf("two helps by one helper: %s, %s", ids[0], id)
				}
			}
			if got, _ := s.app.Bargains.Bargain(ctx, b2.ID); got.Cuts != 1 {
				t.Fatalf("%d cuts from one helper", got.Cuts)
			}

			// One buyer opening twenty times at once: one bargain.
			opened := make([]string, 20)
			results = raceAll(20, func(i int) error {
				b, err := s.app.Bargains.Open(ctx, initiators[2].id, act.ID)
				if err == nil {
					opened[i] = b.ID
				}
				return err
			})
			if got := countCodes(t, results); got[""] != 20 {
				t.Fatalf("opens: %v", got)
			}
			for _, id := range opened {
				if id != opened[0] {
					t.Fatalf("two bargains for one buyer: %s, %s", opened[0], id)
				}
			}

			// Nine buyers ordering at once at the price reached: the quota
			// of 3 holds.
			var bs []*bargain.Bargain
			for _, ini := range initiators[3:] {
				b, err := s.app.Bargains.Open(ctx, ini.id, act.ID)
				if err != nil {
					t.Fatal(err)
				}
				bs = append(bs, b)
			}
			orders := make([]*order.Order, len(bs))
			results = raceAll(len(bs), func(i int) error {
				o, err := s.app.Bargains.Order(ctx, bargain.OrderInput{BuyerID: bs[i].InitiatorID, BargainID: bs[i].ID, AddressID: initiators[3+i].address})
				orders[i] = o
				return err
			})
			if got := countCodes(t, results); got[""] != 3 || got["bargain_sold_out"] != len(bs)-3 {
				t.Fatalf("orders: %v; want 3, the rest sold out", got)
			}
			if a, _ := s.app.Bargains.Activity(ctx, act.ID); a.Sold != 3 {
				t.Fatalf("sold %d", a.Sold)
			}
			// A buyer cancels: the unit comes back and another may order.
			var cancelled *order.Order
			for _, o := range orders {
				if o != nil {
					cancelled = o
					break
				}
			}
			if _, err := s.app.Orders.Cancel(ctx, cancelled.BuyerID, cancelled.ID); err != nil {
				t.Fatal(err)
			}
			s.app.Drain(t)
			if a, _ := s.app.Bargains.Activity(ctx, act.ID); a.Sold != 2 {
				t.Fatalf("sold %d after a cancel", a.Sold)
			}
			for i, o := range orders {
				if o != nil {
					continue
				}
				if _, err := s.app.Bargains.Order(ctx, bargain.OrderInput{BuyerID: bs[i].InitiatorID, BargainID: bs[i].ID, AddressID: initiators[3+i].address}); err != nil {
					t.Fatalf("the freed unit: %v", err)
				}
				break
			}
		})
	}
}
