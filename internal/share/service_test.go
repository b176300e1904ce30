package share_test

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/seal"
	"github.com/siyu-commerce/siyu/internal/share"
	"github.com/siyu-commerce/siyu/internal/store/sqlite"
)

// orderBook is the order capability as attribution reads it.
type orderBook map[string]*order.Order

func (b orderBook) Order(_ context.Context, id string) (*order.Order, error) {
	if o, ok := b[id]; ok {
		return o, nil
	}
	return nil, order.ErrNotFound
}

func (b orderBook) Orders(_ context.Context, f order.ListFilter) (order.Page, error) {
	var p order.Page
	for _, o := range b {
		if o.BuyerID == f.BuyerID {
			p.Orders = append(p.Orders, *o)
		}
	}
	return p, nil
}

type fixture struct {
	t      *testing.T
	svc    *share.Service
	clock  *clock.Fake
	orders orderBook
}

func newFixture(t *testing.T) *fixture {
	sealer, err := seal.New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "siyu.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	g, _ := share.NewSigner(share.KeyFrom(bytes.Repeat([]byte{2}, 32)))
	clk := clock.NewFake(time.Date(2031, 5, 1, 9, 0, 0, 0, time.UTC))
	f := &fixture{t: t, clock: clk, orders: orderBook{}}
	f.svc = &share.Service{Store: st, Orders: f.orders, Signer: g, Clock: clk}
	return f
}

func (f *fixture) share(sharer string, kind share.TargetKind, target, activity, parent string) share.Made {
	f.t.Helper()
	m, err := f.svc.Create(context.Background(), sharer, share.NewShare{TargetKind: kind, TargetID: target,
		ActivityID: activity, ParentToken: parent})
	if err != nil {
		f.t.Fatalf("Create: %v", err)
	}
	return m
}

func (f *fixture) visit(visitor, tok string) {
	f.t.Helper()
	f.clock.Advance(time.Minute)
	if _, err := f.svc.Visit(context.Background(), visitor, tok, share.ShareCard, ""); err != nil {
		f.t.Fatalf("Visit: %v", err)
	}
}

// pay records a paid order of the products and delivers its order.paid
// event twice, as at-least-once delivery may.
func (f *fixture) pay(buyer string, total money.Fen, products ...string) *order.Order {
	f.t.Helper()
	f.clock.Advance(time.Minute)
	now := f.clock.Now()
	o := &order.Order{ID: ids.New(), BuyerID: buyer, Status: order.Paid, Total: total, PaidAt: &now}
	for _, p := range products {
		o.Lines = append(o.Lines, order.Line{ID: ids.New(), ProductID: p, Qty: 1})
	}
	f.orders[o.ID] = o
	ev := outbox.New(order.TopicPaid, o.ID, order.Event{OrderID: o.ID, BuyerID: buyer, From: order.PendingPayment,
		To: order.Paid, Total: int64(total)}, now)
	for range 2 {
		if err := f.svc.OnOrderPaid(context.Background(), ev); err != nil {
			f.t.Fatalf("OnOrderPaid: %v", err)
		}
	}
	return o
}

func (f *fixture) credit(orderID string) *share.Credit {
	f.t.Helper()
	c, err := f.svc.Store.ShareCredit(context.Background(), orderID)
	if errs.Is(err, "share_credit_not_found") {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func TestAttribution(t *testing.T) {
	product, otherProduct := ids.New(), ids.New()

	t.Run("a visit then a paid order: credited once, delivered twice", func(t *testing.T) {
		f := newFixture(t)
		ann, bob := ids.New(), ids.New()
		m := f.share(ann, share.Product, product, "", "")
		f.visit(bob, m.Token)
		o := f.pay(bob, 2999, product)
		c := f.credit(o.ID)
		want := &share.Credit{OrderID: o.ID, ShareID: m.Share.ID, SharerID: ann, BuyerID: bob, Amount: 2999,
			NewBuyer: true, Chain: []string{m.Share.ID}, Scene: share.ShareCard, At: *o.PaidAt}
		if !reflect.DeepEqual(c, want) {
			t.Fatalf("credit = %+v, want %+v", c, want)
		}
		st, err := f.svc.Stats(context.Background(), share.StatsFilter{})
		if err != nil || st.Activities[0].Orders != 1 || st.Activities[0].GMV != 2999 {
			t.Fatalf("stats = %+v, %v; want one order of 2999", st, err)
		}
		// The second order is not a new buyer's, and a product share does
		// not credit an order without its product.
		o2 := f.pay(bob, 100, product)
		if c := f.credit(o2.ID); c == nil || c.NewBuyer {
			t.Fatalf("second order credit = %+v; want credited, not new", c)
		}
		if c := f.credit(f.pay(bob, 100, otherProduct).ID); c != nil {
			t.Fatalf("an order without the product was credited: %+v", c)
		}
	})

	t.Run("last touch wins", func(t *testing.T) {
		f := newFixture(t)
		ann, cat, bob := ids.New(), ids.New(), ids.New()
		first := f.share(ann, share.Team, ids.New(), "", "")
		last := f.share(cat, share.Team, ids.New(), "", "")
		f.visit(bob, first.Token)
		f.visit(bob, last.Token)
		if c := f.credit(f.pay(bob, 500, otherProduct).ID); c == nil || c.SharerID != cat {
			t.Fatalf("credit = %+v; want cat's", c)
		}
		f.visit(bob, first.Token)
		if c := f.credit(f.pay(bob, 500, otherProduct).ID); c == nil || c.SharerID != ann {
			t.Fatalf("credit = %+v; want ann's after her link was opened again", c)
		}
	})

	t.Run("outside the window: no credit", func(t *testing.T) {
		f := newFixture(t)
		ann, bob := ids.New(), ids.New()
		m := f.share(ann, share.Team, ids.New(), "", "")
		f.visit(bob, m.Token)
		f.clock.Advance(share.DefaultWindow)
		if c := f.credit(f.pay(bob, 500).ID); c != nil {
			t.Fatalf("credited after the window: %+v", c)
		}
	})

	t.Run("one's own share is never credited", func(t *testing.T) {
		f := newFixture(t)
		ann := ids.New()
		m := f.share(ann, share.Product, product, "", "")
		f.visit(ann, m.Token)
		if c := f.credit(f.pay(ann, 2999, product).ID); c != nil {
			t.Fatalf("own share credited: %+v", c)
		}
	})

	t.Run("the chain is kept, and depth stops at 3", func(t *testing.T) {
		f := newFixture(t)
		a, b, c, d, e := ids.New(), ids.New(), ids.New(), ids.New(), ids.New()
		team, act := ids.New(), ids.New()
		s1 := f.share(a, share.Team, team, act, "")
		f.visit(b, s1.Token)
		s2 := f.share(b, share.Team, team, "", s1.Token)
		f.visit(c, s2.Token)
		s3 := f.share(c, share.Team, team, "", s2.Token)
		if s3.Share.Depth != 3 || s3.Share.ParentID != s2.Share.ID || s3.Share.ActivityID != act {
			t.Fatalf("third share = %+v; want depth 3 under %s in the activity", s3.Share, s2.Share.ID)
		}
		f.visit(d, s3.Token)
		_, err := f.svc.Create(context.Background(), d, share.NewShare{TargetKind: share.Team, TargetID: team, ParentToken: s3.Token})
		if !errs.Is(err, "share_depth_exceeded") {
			t.Fatalf("a fourth level = %v; want share_depth_exceeded", err)
		}
		// A parent the sharer never opened does not count: e starts afresh.
		if m := f.share(e, share.Team, team, "", s3.Token); m.Share.Depth != 1 || m.Share.ParentID != "" {
			t.Fatalf("share by one who never opened the parent = %+v", m.Share)
		}
		// A forged parent is refused outright.
		if _, err := f.svc.Create(context.Background(), e, share.NewShare{TargetKind: share.Team, TargetID: team,
			ParentToken: s3.Token[:len(s3.Token)-2] + "AA"}); !errs.Is(err, "share_token_invalid") {
			t.Fatalf("forged parent = %v", err)
		}
		cr := f.credit(f.pay(d, 700).ID)
		if want := []string{s3.Share.ID, s2.Share.ID, s1.Share.ID}; cr == nil || !reflect.DeepEqual(cr.Chain, want) {
			t.Fatalf("credit = %+v; want the chain %v", cr, want)
		}
	})
}

// A small scripted fission: the numbers are worked out by hand.
func TestStats(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	act := ids.New()
	ann, ben, x, y, z := ids.New(), ids.New(), ids.New(), ids.New(), ids.New()
	team := ids.New()
	a := f.share(ann, share.Team, team, act, "")
	b := f.share(ben, share.Team, team, act, "")
	f.visit(x, a.Token)
	f.visit(y, a.Token)
	f.visit(z, a.Token)
	f.visit(x, b.Token)
	f.visit(ann, a.Token) // own
	f.pay(x, 1000)        // last touch: ben's; x's first order
	f.pay(y, 2500)        // ann's; new
	f.pay(y, 500)         // ann's; not new
	st, err := f.svc.Stats(ctx, share.StatsFilter{ActivityID: act})
	if err != nil {
		t.Fatal(err)
	}
	// active buyers: ann, ben (shared), x, y, z (visited) = 5; sharers 2.
	rate := money.BP(4000)
	want := share.Stats{
		Activities: []share.Row{{ActivityID: act, Sharers: 2, Shares: 2, Visits: 4, UniqueVisitors: 3, NewBuyers: 2,
			Orders: 3, GMV: 4000, Rates: share.Rates{ShareRate: &rate, Conversion: 7500, KFactor: "1.00"}}},
		Sharers: []share.Row{
			{SharerID: ann, Sharers: 1, Shares: 1, Visits: 3, UniqueVisitors: 3, NewBuyers: 1, Orders: 2, GMV: 3000,
				Rates: share.Rates{Conversion: 6666, KFactor: "1.00"}},
			{SharerID: ben, Sharers: 1, Shares: 1, Visits: 1, UniqueVisitors: 1, NewBuyers: 1, Orders: 1, GMV: 1000,
				Rates: share.Rates{Conversion: 10000, KFactor: "1.00"}},
		},
		// Every visit came through a share card; every scene is listed.
		Scenes: []share.SceneRow{
			{Scene: share.ShareCard, Visits: 4, UniqueVisitors: 3, NewBuyers: 2, Orders: 3, GMV: 4000, Conversion: 7500},
			{Scene: share.QRScan}, {Scene: share.Article}, {Scene: share.ChannelVideo}, {Scene: share.Search},
		},
	}
	if !reflect.DeepEqual(st, want) {
		t.Fatalf("stats =\n%+v\nwant\n%+v", st, want)
	}
}

// TestVisitLimits: the same link opened again from the same entry within
// RepeatWindow is one visit; from another entry, or later, another; and a
// buyer opening more than MaxVisitsPerHour links an hour is refused.
func TestVisitLimits(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ann, bob := ids.New(), ids.New()
	m := f.share(ann, share.Product, ids.New(), "", "")
	first, err := f.svc.Visit(ctx, bob, m.Token, share.ShareCard, "dev-1")
	if err != nil || first.Visit.DeviceID != "dev-1" {
		t.Fatalf("first visit = %+v, %v; want it on dev-1", first.Visit, err)
	}
	f.clock.Advance(share.RepeatWindow - time.Second)
	again, err := f.svc.Visit(ctx, bob, m.Token, share.ShareCard, "dev-1")
	if err != nil || again.Visit != first.Visit {
		t.Fatalf("a repeat within the window = %+v, %v; want the first visit %+v", again.Visit, err, first.Visit)
	}
	scan, err := f.svc.Visit(ctx, bob, m.Token, share.QRScan, "")
	if err != nil || scan.Visit.ID == first.Visit.ID {
		t.Fatalf("the same link from another entry = %+v, %v; want a new visit", scan.Visit, err)
	}
	f.clock.Advance(2 * time.Second)
	later, err := f.svc.Visit(ctx, bob, m.Token, share.ShareCard, "")
	if err != nil || later.Visit.ID == first.Visit.ID {
		t.Fatalf("a repeat after the window = %+v, %v; want a new visit", later.Visit, err)
	}

	f.clock.Advance(time.Hour)
	carl := ids.New()
	for i := range share.MaxVisitsPerHour {
		other := f.share(ann, share.Product, ids.New(), "", "")
		if _, err := f.svc.Visit(ctx, carl, other.Token, share.ShareCard, ""); err != nil {
			t.Fatalf("visit %d: %v", i+1, err)
		}
	}
	over := f.share(ann, share.Product, ids.New(), "", "")
	if _, err := f.svc.Visit(ctx, carl, over.Token, share.ShareCard, ""); !errs.Is(err, share.ErrTooManyVisits.Code) {
		t.Fatalf("visit %d in an hour: %v; want %s", share.MaxVisitsPerHour+1, err, share.ErrTooManyVisits.Code)
	}
	f.clock.Advance(time.Hour)
	if _, err := f.svc.Visit(ctx, carl, over.Token, share.ShareCard, ""); err != nil {
		t.Fatalf("an hour later: %v", err)
	}
}
