package app_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/coupon"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
)

// couponShop is an app with one SKU on sale (sale 1999 fen, plenty of
// stock) and buyers with an address each.
type couponShop struct {
	app *apptest.App
	sku string
}

func newCouponShop(t *testing.T, engine apptest.Engine) *couponShop {
	t.Helper()
	a := apptest.New(t, engine, nil)
	sku := stockedSKU(t, a, "tea", 2599, 1999)
	return &couponShop{app: a, sku: sku}
}

var couponBuyerSeq atomic.Int64

// buyer is a new buyer's id and address id.
func (s *couponShop) buyer(t *testing.T) (string, string) {
	t.Helper()
	ctx := context.Background()
	b, err := s.app.Store.UpsertBuyer(ctx, fmt.Sprintf("openid-coupon-%d", couponBuyerSeq.Add(1)), "", "", s.app.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.app.Identity.CreateAddress(ctx, b.ID, identity.AddressInput{Name: "张三", Phone: "13812345678",
		Province: "浙江省", City: "杭州市", District: "西湖区", Detail: "文三路88号"})
	if err != nil {
		t.Fatal(err)
	}
	return b.ID, addr.ID
}

func (s *couponShop) template(t *testing.T, change func(*coupon.NewTemplate)) *coupon.Template {
	t.Helper()
	in := coupon.NewTemplate{Terms: coupon.Terms{Name: "立减券", Kind: coupon.Fixed, Off: 500, Scope: coupon.All},
		ValidDays: 7, PerBuyer: 1, Quantity: 100, Mode: coupon.Claim}
	if change != nil {
		change(&in)
	}
	tpl, err := s.app.Coupons.CreateTemplate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func (s *couponShop) place(buyer, addr string, couponIDs ...string) (*order.Order, error) {
	return s.app.Orders.Place(context.Background(), order.PlaceInput{BuyerID: buyer, AddressID: addr,
		Lines: []order.LineInput{{SKUID: s.sku, Qty: 1}}, CouponIDs: couponIDs})
}

// race runs f n times at once and counts the successes and each refusal.
func race(n int, f func(i int) error) (int, map[string]int, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		ok    int
		codes = map[string]int{}
		other error
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := f(i)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
				return
			}
			if e, isErr := errs.As(err); isErr && e.Kind != errs.Internal {
				codes[e.Code]++
				return
			}
			other = err
		}()
	}
	close(start)
	wg.Wait()
	return ok, codes, other
}

func TestCouponClaimRace(t *testing.T) {
	for _, e := range apptest.Engines() {
		t.Run(string(e), func(t *testing.T) {
			s := newCouponShop(t, e)
			tpl := s.template(t, nil)
			const buyers = 1000
			ids := make([]string, buyers)
			for i := range ids {
				ids[i], _ = s.buyer(t)
			}
			ok, codes, err := race(buyers, func(i int) error {
				_, err := s.app.Coupons.Claim(context.Background(), ids[i], tpl.ID)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if ok != 100 || codes[coupon.ErrSoldOut.Code] != buyers-100 {
				t.Fatalf("%d claims of 100 coupons succeeded; refusals %v", ok, codes)
			}
			got, err := s.app.Coupons.Template(context.Background(), tpl.ID)
			if err != nil || got.Issued != 100 {
				t.Fatalf("issued %d, %v", got.Issued, err)
			}
		})
	}
}

func TestCouponPerBuyerRace(t *testing.T) {
	for _, e := range apptest.Engines() {
		t.Run(string(e), func(t *testing.T) {
			s := newCouponShop(t, e)
			tpl := s.template(t, func(in *coupon.NewTemplate) { in.PerBuyer = 3 })
			buyer, _ := s.buyer(t)
			ok, codes, err := race(50, func(int) error {
				_, err := s.app.Coupons.Claim(context.Background(), buyer, tpl.ID)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if ok != 3 || codes[coupon.ErrLimitReached.Code] != 47 {
				t.Fatalf("one buyer got %d coupons with a limit of 3; refusals %v", ok, codes)
			}
		})
	}
}

func TestCouponUseRace(t *testing.T) {
	for _, e := range apptest.Engines() {
		t.Run(string(e), func(t *testing.T) {
			s := newCouponShop(t, e)
			tpl := s.template(t, nil)
			buyer, addr := s.buyer(t)
			c, err := s.app.Coupons.Claim(context.Background(), buyer, tpl.ID)
			if err != nil {
				t.Fatal(err)
			}
			ok, codes, err := race(10, func(int) error {
				_, err := s.place(buyer, addr, c.ID)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if ok != 1 || codes[coupon.ErrUnavailable.Code] != 9 {
				t.Fatalf("one coupon used by %d orders; refusals %v", ok, codes)
			}
			got, _ := s.app.Coupons.Template(context.Background(), tpl.ID)
			if got.Spent != 500 {
				t.Fatalf("spent %d, want 500", got.Spent)
			}
		})
	}
}

func TestCouponBudgetAndNewUser(t *testing.T) {
	for _, e := range apptest.Engines() {
		t.Run(string(e), func(t *testing.T) {
			s := newCouponShop(t, e)
			ctx := context.Background()
			tpl := s.template(t, func(in *coupon.NewTemplate) { in.Budget = 700 })
			b1, a1 := s.buyer(t)
			b2, a2 := s.buyer(t)
			c1, err := s.app.Coupons.Claim(ctx, b1, tpl.ID)
			if err != nil {
				t.Fatal(err)
			}
			c2, err := s.app.Coupons.Claim(ctx, b2, tpl.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.place(b1, a1, c1.ID); err != nil {
				t.Fatal(err)
			}
			// 500 of 700 spent: another 500 would pass the budget.
			if _, err := s.place(b2, a2, c2.ID); !errs.Is(err, coupon.ErrBudgetExhausted.Code) {
				t.Fatalf("past the budget: %v", err)
			}
			got, _ := s.app.Coupons.Coupons(ctx, coupon.CouponFilter{BuyerID: b2})
			if len(got.Coupons) != 1 || got.Coupons[0].State != coupon.Available {
				t.Fatalf("a refused use left the coupon %+v", got.Coupons)
			}

			// A new-user coupon: refused once the buyer has a paid order.
			nu := s.template(t, func(in *coupon.NewTemplate) { in.Mode = coupon.NewUser })
			o, err := s.place(b1, a1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.app.Orders.Store.UpdateOrder(ctx, o.ID, func(o *order.Order) (order.Change, error) {
				return s.app.Orders.PaidChange(o, s.app.Clock.Now())
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.app.Coupons.Claim(ctx, b1, nu.ID); !errs.Is(err, coupon.ErrNotNewUser.Code) {
				t.Fatalf("a buyer with a paid order claimed a new-user coupon: %v", err)
			}
			if _, err := s.app.Coupons.Claim(ctx, b2, nu.ID); err != nil {
				t.Fatalf("a new buyer: %v", err)
			}
		})
	}
}

// TestCouponBackWhenUnpaidOrderCloses: an order that used a coupon is left
// unpaid; once its pay window has passed, the close job closes it and the
// order.closed consumer gives the coupon and its saving back, once.
func TestCouponBackWhenUnpaidOrderCloses(t *testing.T) {
	for _, e := range apptest.Engines() {
		t.Run(string(e), func(t *testing.T) {
			s := newCouponShop(t, e)
			a, ctx := s.app, context.Background()
			tpl := s.template(t, func(in *coupon.NewTemplate) { in.Budget = 1000 })
			buyer, addr := s.buyer(t)
			c, err := a.Coupons.Claim(ctx, buyer, tpl.ID)
			if err != nil {
				t.Fatal(err)
			}
			o, err := s.place(buyer, addr, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			check := func(status order.Status, state coupon.State, spent money.Fen) {
				t.Helper()
				got, err := a.Store.Order(ctx, o.ID)
				if err != nil || got.Status != status {
					t.Fatalf("order %v, %v; want %s", got.Status, err, status)
				}
				page, err := a.Coupons.Coupons(ctx, coupon.CouponFilter{BuyerID: buyer})
				if err != nil || len(page.Coupons) != 1 || page.Coupons[0].State != state {
					t.Fatalf("the buyer's coupons %+v, %v; want one %s", page.Coupons, err, state)
				}
				if tp, err := a.Coupons.Template(ctx, tpl.ID); err != nil || tp.Spent != spent {
					t.Fatalf("template spent %d, %v; want %d", tp.Spent, err, spent)
				}
			}
			check(order.PendingPayment, coupon.Used, 500)

			a.Clock.Advance(a.Config.PayWindow - time.Minute)
			a.Drain(t)
			check(order.PendingPayment, coupon.Used, 500)

			a.Clock.Advance(2 * time.Minute)
			a.Drain(t)
			check(order.Closed, coupon.Available, 0)
			a.Drain(t)
			check(order.Closed, coupon.Available, 0)

			// Available again: the buyer's next order may use it.
			if _, err := s.place(buyer, addr, c.ID); err != nil {
				t.Fatalf("the restored coupon: %v", err)
			}
			check(order.Closed, coupon.Used, 500)
		})
	}
}
