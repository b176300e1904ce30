package storetest

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/coupon"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func init() { register("coupon", testCoupon) }

// The coupon tests prove the half of the coupon rules that lives in the
// store (docs/coupon.md): a claim never passes the quantity, the buyer's
// limit, the window or the new-user rule, whatever races; a coupon goes to
// one order at most, with its order and its budget, all or nothing; and a
// restore gives the coupon and the budget back once.
func testCoupon(t *testing.T, open Opener) {
	t.Run("templates", func(t *testing.T) { testCouponTemplates(t, newCouponWorld(t, open)) })
	t.Run("claims", func(t *testing.T) { testCouponClaims(t, newCouponWorld(t, open)) })
	t.Run("race_quantity", func(t *testing.T) { testCouponRaceQuantity(t, newCouponWorld(t, open)) })
	t.Run("race_per_buyer", func(t *testing.T) { testCouponRacePerBuyer(t, newCouponWorld(t, open)) })
	t.Run("use", func(t *testing.T) { testCouponUse(t, newCouponWorld(t, open)) })
	t.Run("race_use", func(t *testing.T) { testCouponRaceUse(t, newCouponWorld(t, open)) })
	t.Run("race_budget", func(t *testing.T) { testCouponRaceBudget(t, newCouponWorld(t, open)) })
	t.Run("restore", func(t *testing.T) { testCouponRestore(t, newCouponWorld(t, open)) })
}

type couponWorld struct {
	*orderWorld
	skuID string // 1999 fen, 1000 units
}

func newCouponWorld(t *testing.T, open Opener) *couponWorld {
	w := newOrderWorld(t, open)
	sku := w.sku(t, "Longjing", skuFixture{Spec: "50g", List: 2599, Sale: 1999, Stock: 1000})
	return &couponWorld{orderWorld: w, skuID: sku.ID}
}

// buyer is a new buyer: a claim checks the buyer exists.
func (w *couponWorld) buyer(t testing.TB) string {
	t.Helper()
	b, err := w.s.UpsertBuyer(context.Background(), "openid-coupon-"+ids.Token(8), "", "", w.clock.Now())
	if err != nil {
		t.Fatalf("UpsertBuyer: %v", err)
	}
	return b.ID
}

// template stores an active claim template of 500 fen off everything,
// valid 7 days from the claim, 100 coupons, one a buyer, then change.
func (w *couponWorld) template(t testing.TB, change func(*coupon.Template)) *coupon.Template {
	t.Helper()
	now := w.clock.Now()
	tpl := &coupon.Template{
		ID:        ids.New(),
		Terms:     coupon.Terms{Name: "立减券", Kind: coupon.Fixed, Off: 500, Scope: coupon.All, ScopeIDs: []string{}},
		ValidDays: 7, PerBuyer: 1, Quantity: 100, Mode: coupon.Claim, Status: coupon.Active,
		CreatedAt: now, UpdatedAt: now,
	}
	if change != nil {
		change(tpl)
	}
	if err := w.s.CreateCouponTemplate(context.Background(), tpl); err != nil {
		t.Fatalf("CreateCouponTemplate: %v", err)
	}
	return tpl
}

// claim asks for one of tpl's coupons for buyer at now, as the coupon
// service does.
func (w *couponWorld) claim(tpl *coupon.Template, buyer string, now time.Time) (*coupon.Coupon, error) {
	from, until := tpl.Validity(now)
	c := &coupon.Coupon{ID: ids.New(), TemplateID: tpl.ID, BuyerID: buyer, Terms: tpl.Terms, State: coupon.Available,
		ValidFrom: from, ValidUntil: until, ClaimedAt: now}
	return c, w.s.ClaimCoupon(context.Background(), c, coupon.ClaimInput{TemplateID: tpl.ID, BuyerID: buyer,
		PerBuyer: tpl.PerBuyer, NewUserOnly: tpl.Mode == coupon.NewUser, Now: now})
}

func (w *couponWorld) mustClaim(t testing.TB, tpl *coupon.Template, buyer string) *coupon.Coupon {
	t.Helper()
	c, err := w.claim(tpl, buyer, w.clock.Now())
	if err != nil {
		t.Fatalf("ClaimCoupon: %v", err)
	}
	return c
}

// draft prices an order of one unit for buyer that uses the coupons given.
// The store takes the savings as the draft states them: the pricing of a
// coupon is the service's, not the store's.
func (w *couponWorld) draft(t testing.TB, buyer string, uses ...order.CouponUse) *order.Draft {
	t.Helper()
	d, err := w.svc.Prepare(context.Background(), order.PlaceInput{BuyerID: buyer, AddressID: ids.New(),
		Lines: []order.LineInput{{SKUID: w.skuID, Qty: 1}}})
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	d.Coupons = uses
	return d
}

func (w *couponWorld) tpl(t testing.TB, id string) *coupon.Template {
	t.Helper()
	got, err := w.s.CouponTemplate(context.Background(), id)
	if err != nil {
		t.Fatalf("CouponTemplate: %v", err)
	}
	return got
}

func (w *couponWorld) coupon(t testing.TB, id string) coupon.Coupon {
	t.Helper()
	cs, err := w.s.CouponsByID(context.Background(), []string{id})
	if err != nil || len(cs) != 1 {
		t.Fatalf("CouponsByID(%s) = %+v, %v", id, cs, err)
	}
	return cs[0]
}

// wantNoOrder checks a refused use left no order behind.
func (w *couponWorld) wantNoOrder(t testing.TB, id string) {
	t.Helper()
	if _, err := w.s.Order(context.Background(), id); !errs.Is(err, order.ErrNotFound.Code) {
		t.Fatalf("Order(%s) after a refused use = %v; want order_not_found", id, err)
	}
}

func testCouponTemplates(t *testing.T, w *couponWorld) {
	ctx := context.Background()
	now := w.clock.Now()
	from, until := now.Add(-time.Hour), now.Add(48*time.Hour)
	window := w.template(t, func(tpl *coupon.Template) {
		tpl.Terms = coupon.Terms{Name: "九折券", Kind: coupon.Percent, Rate: 1000, Cap: 3000, MinSpend: 5000,
			Scope: coupon.Category, ScopeIDs: []string{ids.New(), ids.New()}}
		tpl.ValidDays, tpl.ValidFrom, tpl.ValidUntil = 0, &from, &until
		tpl.PerBuyer, tpl.Quantity, tpl.Issued, tpl.Budget, tpl.Spent = 3, 500, 7, 90000, 1234
		tpl.Mode = coupon.NewUser
	})
	days := w.template(t, nil)
	for _, want := range []*coupon.Template{window, days} {
		got, err := w.s.CouponTemplate(ctx, want.ID)
		failOn(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("CouponTemplate =\n%+v\nwant\n%+v", got, want)
		}
	}
	for _, id := range []string{ids.New(), "not-an-id"} {
		if _, err := w.s.CouponTemplate(ctx, id); !errs.Is(err, coupon.ErrTemplateNotFound.Code) {
			t.Fatalf("CouponTemplate(%s) = %v", id, err)
		}
	}

	t.Run("ending is once", func(t *testing.T) {
		at := now.Add(time.Minute)
		got, err := w.s.EndCouponTemplate(ctx, days.ID, at)
		failOn(t, err)
		if got.Status != coupon.Ended || got.EndedAt == nil || !got.EndedAt.Equal(at) {
			t.Fatalf("ended = %+v", got)
		}
		again, err := w.s.EndCouponTemplate(ctx, days.ID, at.Add(time.Hour))
		failOn(t, err)
		if !reflect.DeepEqual(again, got) {
			t.Fatalf("ending twice changed it: %+v, want %+v", again, got)
		}
	})
}

func testCouponClaims(t *testing.T, w *couponWorld) {
	ctx := context.Background()
	now := w.clock.Now()
	refused := func(t *testing.T, tpl *coupon.Template, buyer string, at time.Time, code string) {
		t.Helper()
		before := w.tpl(t, tpl.ID)
		c, err := w.claim(tpl, buyer, at)
		if !errs.Is(err, code) {
			t.Fatalf("claim = %v; want %s", err, code)
		}
		if after := w.tpl(t, tpl.ID); after.Issued != before.Issued {
			t.Fatalf("a refused claim counted: issued %d, was %d", after.Issued, before.Issued)
		}
		if cs, err := w.s.CouponsByID(ctx, []string{c.ID}); err != nil || len(cs) != 0 {
			t.Fatalf("a refused claim inserted its coupon: %+v, %v", cs, err)
		}
	}

	t.Run("a claim counts and reads back with its terms", func(t *testing.T) {
		tpl := w.template(t, func(tpl *coupon.Template) {
			tpl.Terms = coupon.Terms{Name: "满减", Kind: coupon.Threshold, Off: 1000, MinSpend: 9900, Scope: coupon.SKU,
				ScopeIDs: []string{w.skuID}}
		})
		buyer := w.buyer(t)
		c := w.mustClaim(t, tpl, buyer)
		if got := w.coupon(t, c.ID); !reflect.DeepEqual(got, *c) {
			t.Fatalf("CouponsByID =\n%+v\nwant\n%+v", got, *c)
		}
		if got := w.tpl(t, tpl.ID); got.Issued != 1 || !got.UpdatedAt.Equal(now) {
			t.Fatalf("template after a claim = %+v", got)
		}
		page, err := w.s.Coupons(ctx, coupon.CouponFilter{BuyerID: buyer, State: coupon.Available, Now: now, Limit: 10})
		failOn(t, err)
		if len(page.Coupons) != 1 || page.Coupons[0].ID != c.ID {
			t.Fatalf("the buyer's available coupons = %+v", page.Coupons)
		}
	})

	t.Run("quantity", func(t *testing.T) {
		tpl := w.template(t, func(tpl *coupon.Template) { tpl.Quantity, tpl.PerBuyer = 2, 5 })
		buyer := w.buyer(t)
		w.mustClaim(t, tpl, buyer)
		w.mustClaim(t, tpl, w.buyer(t))
		refused(t, tpl, buyer, now, coupon.ErrSoldOut.Code)
		refused(t, tpl, w.buyer(t), now, coupon.ErrSoldOut.Code)
	})

	t.Run("budget spent: no more claims", func(t *testing.T) {
		tpl := w.template(t, func(tpl *coupon.Template) { tpl.Budget, tpl.Spent = 1000, 1000 })
		refused(t, tpl, w.buyer(t), now, coupon.ErrSoldOut.Code)
	})

	t.Run("per-buyer limit", func(t *testing.T) {
		tpl := w.template(t, func(tpl *coupon.Template) { tpl.PerBuyer = 2 })
		buyer := w.buyer(t)
		w.mustClaim(t, tpl, buyer)
		w.mustClaim(t, tpl, buyer)
		refused(t, tpl, buyer, now, coupon.ErrLimitReached.Code)
		w.mustClaim(t, tpl, w.buyer(t)) // another buyer's limit is their own
		if got := w.tpl(t, tpl.ID); got.Issued != 3 {
			t.Fatalf("issued %d, want 3", got.Issued)
		}
	})

	t.Run("window and status", func(t *testing.T) {
		from, until := now.Add(-3*time.Hour), now.Add(time.Hour)
		tpl := w.template(t, func(tpl *coupon.Template) { tpl.ValidDays, tpl.ValidFrom, tpl.ValidUntil = 0, &from, &until })
		buyer := w.buyer(t)
		refused(t, tpl, buyer, until, coupon.ErrClaimOver.Code) // valid_until itself is past the window
		c, err := w.claim(tpl, buyer, until.Add(-time.Microsecond))
		failOn(t, err)
		if !c.ValidFrom.Equal(from) || !c.ValidUntil.Equal(until) {
			t.Fatalf("a window template's coupon is valid %v to %v", c.ValidFrom, c.ValidUntil)
		}
		ended := w.template(t, nil)
		_, err = w.s.EndCouponTemplate(ctx, ended.ID, now)
		failOn(t, err)
		refused(t, ended, w.buyer(t), now, coupon.ErrTemplateEnded.Code)
	})

	t.Run("new users only", func(t *testing.T) {
		tpl := w.template(t, func(tpl *coupon.Template) { tpl.Mode = coupon.NewUser })
		paid, unpaid := w.buyer(t), w.buyer(t)
		o := w.place(t, paid, order.LineInput{SKUID: w.skuID, Qty: 1})
		_, err := markPaid(ctx, w.svc, o.ID, now)
		failOn(t, err)
		w.place(t, unpaid, order.LineInput{SKUID: w.skuID, Qty: 1}) // an unpaid order still leaves a new user
		refused(t, tpl, paid, now, coupon.ErrNotNewUser.Code)
		w.mustClaim(t, tpl, unpaid)
		// A claim template does not ask: the paid buyer may claim it.
		w.mustClaim(t, w.template(t, nil), paid)
	})

	t.Run("unknown template or buyer", func(t *testing.T) {
		for _, id := range []string{ids.New(), "not-an-id"} {
			tpl := &coupon.Template{ID: id, ValidDays: 1, PerBuyer: 1}
			if _, err := w.claim(tpl, w.buyer(t), now); !errs.Is(err, coupon.ErrTemplateNotFound.Code) {
				t.Fatalf("claim of template %s = %v", id, err)
			}
		}
		refused(t, w.template(t, nil), ids.New(), now, "buyer_not_found")
	})
}

// testCouponRaceQuantity: 200 buyers claim at once the 20 coupons a
// template has left; exactly 20 get one.
func testCouponRaceQuantity(t *testing.T, w *couponWorld) {
	const left, racers = 20, 200
	tpl := w.template(t, func(tpl *coupon.Template) { tpl.Quantity, tpl.Issued = left+5, 5 })
	buyers := make([]string, racers)
	for i := range buyers {
		buyers[i] = w.buyer(t)
	}
	now := w.clock.Now()
	couponIDs := make([]string, racers)
	results := concurrently(racers, func(i int) error {
		c, err := w.claim(tpl, buyers[i], now)
		couponIDs[i] = c.ID
		return err
	})
	wantOutcomes(t, results, map[string]int{"": left, coupon.ErrSoldOut.Code: racers - left})
	if got := w.tpl(t, tpl.ID); got.Issued != left+5 {
		t.Fatalf("issued %d of %d", got.Issued, left+5)
	}
	cs, err := w.s.CouponsByID(context.Background(), couponIDs)
	failOn(t, err)
	if len(cs) != left {
		t.Fatalf("%d coupons stored; want %d", len(cs), left)
	}
	for _, c := range cs {
		i := slices.Index(couponIDs, c.ID)
		if results[i] != nil || c.BuyerID != buyers[i] {
			t.Fatalf("coupon %s stored for a refused claim (%v) or the wrong buyer", c.ID, results[i])
		}
	}
}

// testCouponRacePerBuyer: one buyer claims 50 times at once with a limit
// of 3; exactly 3 claims win.
func testCouponRacePerBuyer(t *testing.T, w *couponWorld) {
	const limit, racers = 3, 50
	tpl := w.template(t, func(tpl *coupon.Template) { tpl.PerBuyer = limit })
	buyer := w.buyer(t)
	now := w.clock.Now()
	couponIDs := make([]string, racers)
	results := concurrently(racers, func(i int) error {
		c, err := w.claim(tpl, buyer, now)
		couponIDs[i] = c.ID
		return err
	})
	wantOutcomes(t, results, map[string]int{"": limit, coupon.ErrLimitReached.Code: racers - limit})
	if got := w.tpl(t, tpl.ID); got.Issued != limit {
		t.Fatalf("issued %d; want %d", got.Issued, limit)
	}
	cs, err := w.s.CouponsByID(context.Background(), couponIDs)
	failOn(t, err)
	if len(cs) != limit {
		t.Fatalf("the buyer holds %d coupons; limit %d", len(cs), limit)
	}
}

func testCouponUse(t *testing.T, w *couponWorld) {
	ctx := context.Background()
	now := w.clock.Now()
	// refused checks a use is refused with code and leaves nothing behind:
	// no order, no units reserved, the coupons and the budgets as they were.
	refused := func(t *testing.T, d *order.Draft, at time.Time, code string) {
		t.Helper()
		var (
			before []coupon.Coupon
			spent  = map[string]money.Fen{}
		)
		for _, u := range d.Coupons {
			if cs, _ := w.s.CouponsByID(ctx, []string{u.ID}); len(cs) == 1 {
				before = append(before, cs[0])
				spent[cs[0].TemplateID] = w.tpl(t, cs[0].TemplateID).Spent
			}
		}
		reserved := w.online(t, w.skuID).Reserved
		if err := w.s.UseCoupons(ctx, d, at); !errs.Is(err, code) {
			t.Fatalf("UseCoupons = %v; want %s", err, code)
		}
		w.wantNoOrder(t, d.Order.ID)
		if got := w.online(t, w.skuID).Reserved; got != reserved {
			t.Fatalf("a refused use reserved units: %d, was %d", got, reserved)
		}
		for _, c := range before {
			if got := w.coupon(t, c.ID); !reflect.DeepEqual(got, c) {
				t.Fatalf("a refused use changed coupon\n%+v\nto\n%+v", c, got)
			}
		}
		for id, was := range spent {
			if got := w.tpl(t, id).Spent; got != was {
				t.Fatalf("a refused use spent %d of template %s's budget, was %d", got, id, was)
			}
		}
	}

	t.Run("a use writes the order, the coupon and the budget together", func(t *testing.T) {
		tpl := w.template(t, func(tpl *coupon.Template) { tpl.Budget = 10000 })
		buyer := w.buyer(t)
		c := w.mustClaim(t, tpl, buyer)
		reserved := w.online(t, w.skuID).Reserved
		d := w.draft(t, buyer, order.CouponUse{ID: c.ID, Saved: 500})
		failOn(t, w.s.UseCoupons(ctx, d, now))
		o, err := w.s.Order(ctx, d.Order.ID)
		failOn(t, err)
		if o.BuyerID != buyer || o.Status != order.PendingPayment {
			t.Fatalf("order = %+v", o)
		}
		if got := w.online(t, w.skuID).Reserved; got != reserved+1 {
			t.Fatalf("reserved %d; want %d", got, reserved+1)
		}
		got := w.coupon(t, c.ID)
		if got.State != coupon.Used || got.OrderID != o.ID || got.Saved != 500 || got.UsedAt == nil || !got.UsedAt.Equal(now) {
			t.Fatalf("used coupon = %+v", got)
		}
		if got := w.tpl(t, tpl.ID).Spent; got != 500 {
			t.Fatalf("spent %d; want 500", got)
		}
		// Used once, never again.
		refused(t, w.draft(t, buyer, order.CouponUse{ID: c.ID, Saved: 500}), now, coupon.ErrUnavailable.Code)
	})

	t.Run("only the buyer's own, valid now", func(t *testing.T) {
		buyer := w.buyer(t)
		c := w.mustClaim(t, w.template(t, nil), buyer)
		refused(t, w.draft(t, w.buyer(t), order.CouponUse{ID: c.ID, Saved: 500}), now, coupon.ErrUnavailable.Code)
		refused(t, w.draft(t, buyer, order.CouponUse{ID: c.ID, Saved: 500}), c.ValidUntil, coupon.ErrUnavailable.Code)
		refused(t, w.draft(t, buyer, order.CouponUse{ID: ids.New(), Saved: 500}), now, coupon.ErrUnavailable.Code)
		from, until := now.Add(time.Hour), now.Add(3*time.Hour)
		early := w.mustClaim(t, w.template(t, func(tpl *coupon.Template) {
			tpl.ValidDays, tpl.ValidFrom, tpl.ValidUntil = 0, &from, &until
		}), buyer)
		refused(t, w.draft(t, buyer, order.CouponUse{ID: early.ID, Saved: 500}), now, coupon.ErrUnavailable.Code)
		failOn(t, w.s.UseCoupons(ctx, w.draft(t, buyer, order.CouponUse{ID: early.ID, Saved: 500}), from))
	})

	t.Run("all or nothing", func(t *testing.T) {
		buyer := w.buyer(t)
		good := w.mustClaim(t, w.template(t, nil), buyer)
		free := w.mustClaim(t, w.template(t, func(tpl *coupon.Template) {
			tpl.Terms = coupon.Terms{Name: "包邮", Kind: coupon.FreeShipping, Scope: coupon.All, ScopeIDs: []string{}}
		}), buyer)
		failOn(t, w.s.UseCoupons(ctx, w.draft(t, buyer, order.CouponUse{ID: free.ID, Saved: 800}), now))
		// The discount coupon is fine, the free-shipping one is used: the
		// discount coupon stays available.
		refused(t, w.draft(t, buyer, order.CouponUse{ID: good.ID, Saved: 500}, order.CouponUse{ID: free.ID, Saved: 800}),
			now, coupon.ErrUnavailable.Code)
		if got := w.coupon(t, good.ID); got.State != coupon.Available || got.OrderID != "" {
			t.Fatalf("a refused use kept half of itself: %+v", got)
		}
	})

	t.Run("the budget is spent only if it fits", func(t *testing.T) {
		tpl := w.template(t, func(tpl *coupon.Template) { tpl.Budget = 700 })
		a, b, c := w.buyer(t), w.buyer(t), w.buyer(t)
		ca, cb, cc := w.mustClaim(t, tpl, a), w.mustClaim(t, tpl, b), w.mustClaim(t, tpl, c)
		failOn(t, w.s.UseCoupons(ctx, w.draft(t, a, order.CouponUse{ID: ca.ID, Saved: 500}), now))
		refused(t, w.draft(t, b, order.CouponUse{ID: cb.ID, Saved: 201}), now, coupon.ErrBudgetExhausted.Code)
		failOn(t, w.s.UseCoupons(ctx, w.draft(t, b, order.CouponUse{ID: cb.ID, Saved: 200}), now)) // exactly the rest
		if got := w.tpl(t, tpl.ID).Spent; got != 700 {
			t.Fatalf("spent %d; want 700", got)
		}
		refused(t, w.draft(t, c, order.CouponUse{ID: cc.ID, Saved: 1}), now, coupon.ErrBudgetExhausted.Code)
		// No budget: any saving fits.
		free := w.template(t, nil)
		failOn(t, w.s.UseCoupons(ctx, w.draft(t, c, order.CouponUse{ID: w.mustClaim(t, free, c).ID, Saved: 99999}), now))
		if got := w.tpl(t, free.ID).Spent; got != 99999 {
			t.Fatalf("spent %d of no budget; want 99999", got)
		}
	})
}

// testCouponRaceUse: ten checkouts race for one coupon; one order is
// written, and the budget is spent once.
func testCouponRaceUse(t *testing.T, w *couponWorld) {
	const racers = 10
	ctx := context.Background()
	tpl := w.template(t, func(tpl *coupon.Template) { tpl.Budget = 5000 })
	buyer := w.buyer(t)
	c := w.mustClaim(t, tpl, buyer)
	drafts := make([]*order.Draft, racers)
	for i := range drafts {
		drafts[i] = w.draft(t, buyer, order.CouponUse{ID: c.ID, Saved: 500})
	}
	reserved := w.online(t, w.skuID).Reserved
	now := w.clock.Now()
	results := concurrently(racers, func(i int) error { return w.s.UseCoupons(ctx, drafts[i], now) })
	wantOutcomes(t, results, map[string]int{"": 1, coupon.ErrUnavailable.Code: racers - 1})
	for i, err := range results {
		if err != nil {
			w.wantNoOrder(t, drafts[i].Order.ID)
		} else if got := w.coupon(t, c.ID); got.OrderID != drafts[i].Order.ID {
			t.Fatalf("the coupon names order %s; the winner is %s", got.OrderID, drafts[i].Order.ID)
		}
	}
	if got := w.tpl(t, tpl.ID).Spent; got != 500 {
		t.Fatalf("spent %d; want 500", got)
	}
	if got := w.online(t, w.skuID).Reserved; got != reserved+1 {
		t.Fatalf("reserved %d; want %d", got, reserved+1)
	}
}

// testCouponRaceBudget: ten buyers use a coupon of one template at once,
// each saving 300 of a budget of 1000; three fit.
func testCouponRaceBudget(t *testing.T, w *couponWorld) {
	const racers = 10
	ctx := context.Background()
	tpl := w.template(t, func(tpl *coupon.Template) { tpl.Budget = 1000 })
	drafts := make([]*order.Draft, racers)
	for i := range drafts {
		buyer := w.buyer(t)
		drafts[i] = w.draft(t, buyer, order.CouponUse{ID: w.mustClaim(t, tpl, buyer).ID, Saved: 300})
	}
	now := w.clock.Now()
	results := concurrently(racers, func(i int) error { return w.s.UseCoupons(ctx, drafts[i], now) })
	wantOutcomes(t, results, map[string]int{"": 3, coupon.ErrBudgetExhausted.Code: racers - 3})
	if got := w.tpl(t, tpl.ID).Spent; got != 900 {
		t.Fatalf("spent %d; want 900", got)
	}
	for i, err := range results {
		want := coupon.Used
		if err != nil {
			want = coupon.Available
			w.wantNoOrder(t, drafts[i].Order.ID)
		}
		if got := w.coupon(t, drafts[i].Coupons[0].ID); got.State != want {
			t.Fatalf("racer %d (%v): coupon %s", i, err, got.State)
		}
	}
}

func testCouponRestore(t *testing.T, w *couponWorld) {
	ctx := context.Background()
	now := w.clock.Now()
	discount := w.template(t, func(tpl *coupon.Template) { tpl.Budget, tpl.PerBuyer = 2000, 5 })
	shipping := w.template(t, func(tpl *coupon.Template) {
		tpl.Terms = coupon.Terms{Name: "包邮", Kind: coupon.FreeShipping, Scope: coupon.All, ScopeIDs: []string{}}
		tpl.Budget, tpl.PerBuyer = 2000, 5
	})
	buyer := w.buyer(t)
	// use writes an order of buyer's using a discount and a free-shipping
	// coupon, returning the order's id and the coupons as claimed.
	use := func(t *testing.T) (string, []*coupon.Coupon) {
		t.Helper()
		cd, cs := w.mustClaim(t, discount, buyer), w.mustClaim(t, shipping, buyer)
		d := w.draft(t, buyer, order.CouponUse{ID: cd.ID, Saved: 500}, order.CouponUse{ID: cs.ID, Saved: 800})
		failOn(t, w.s.UseCoupons(ctx, d, now))
		return d.Order.ID, []*coupon.Coupon{cd, cs}
	}
	restore := func(t *testing.T, orderID string, want int) {
		t.Helper()
		n, err := w.s.RestoreCoupons(ctx, orderID)
		failOn(t, err)
		if n != want {
			t.Fatalf("RestoreCoupons(%s) = %d; want %d", orderID, n, want)
		}
	}
	wantSpent := func(t *testing.T, d, s money.Fen) {
		t.Helper()
		if gd, gs := w.tpl(t, discount.ID).Spent, w.tpl(t, shipping.ID).Spent; gd != d || gs != s {
			t.Fatalf("spent %d and %d; want %d and %d", gd, gs, d, s)
		}
	}

	t.Run("restore gives the coupons and the budget back, once", func(t *testing.T) {
		kept, keptCoupons := use(t) // another order's coupons stay used
		orderID, cs := use(t)
		wantSpent(t, 1000, 1600)
		restore(t, orderID, 2)
		for _, c := range cs {
			if got := w.coupon(t, c.ID); !reflect.DeepEqual(got, *c) {
				t.Fatalf("restored coupon =\n%+v\nwant as claimed\n%+v", got, *c)
			}
		}
		wantSpent(t, 500, 800)
		restore(t, orderID, 0)
		wantSpent(t, 500, 800)
		for _, c := range keptCoupons {
			if got := w.coupon(t, c.ID); got.State != coupon.Used || got.OrderID != kept {
				t.Fatalf("another order's coupon after a restore: %+v", got)
			}
		}
		// Available again: a new order may use it.
		d := w.draft(t, buyer, order.CouponUse{ID: cs[0].ID, Saved: 500})
		failOn(t, w.s.UseCoupons(ctx, d, now))
		wantSpent(t, 1000, 800)
		restore(t, d.Order.ID, 1)
		restore(t, kept, 2)
		wantSpent(t, 0, 0)
	})

	t.Run("restores racing give back once", func(t *testing.T) {
		orderID, _ := use(t)
		results := make([]int, 8)
		outcomes := concurrently(len(results), func(i int) error {
			var err error
			results[i], err = w.s.RestoreCoupons(ctx, orderID)
			return err
		})
		wantOutcomes(t, outcomes, map[string]int{"": len(results)})
		total := 0
		for _, n := range results {
			total += n
		}
		if total != 2 {
			t.Fatalf("racing restores gave back %d coupons (%v); want 2", total, results)
		}
		wantSpent(t, 0, 0)
	})

	t.Run("an order without coupons, or none at all", func(t *testing.T) {
		o := w.place(t, buyer, order.LineInput{SKUID: w.skuID, Qty: 1})
		for _, id := range []string{o.ID, ids.New(), "not-an-id"} {
			restore(t, id, 0)
		}
	})
}
