package storetest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/presale"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

func init() { register("presale", testPresale) }

var presaleT0 = time.Date(2031, 8, 1, 10, 0, 0, 0, time.UTC)

type presaleWorld struct {
	*shopFixture
	s      Engine
	orders *order.Service
	sku    string
}

func newPresaleWorld(t *testing.T, open Opener, stock int64) *presaleWorld {
	s := open(t)
	clk := clock.NewFake(presaleT0)
	p, err := pricing.New(pricing.Sale{}, pricing.Activity{}, pricing.Shipping{Fee: 800, FreeOver: 9900})
	if err != nil {
		t.Fatal(err)
	}
	w := &presaleWorld{shopFixture: newShopFixture(t, s, clk), s: s}
	w.orders = &order.Service{Store: s, Catalog: s, Carts: s, Addresses: fixedShipTo(orderShipTo), Pricing: p, Clock: clk}
	w.sku = w.shopFixture.sku(t, "预售茶 "+ids.Token(3), skuFixture{Spec: "250g", List: 12900, Sale: 11900, Stock: stock}).ID
	return w
}

// activity stores a deposit presale of the world's SKU with the given
// status: quota 10, units 1-3 at 99.00 and 109.00 from the 4th.
func (w *presaleWorld) activity(t *testing.T, status presale.ActivityStatus, at time.Time) *presale.Activity {
	t.Helper()
	bs, be := at.Add(72*time.Hour), at.Add(120*time.Hour)
	a := &presale.Activity{
		ID: ids.New(), Title: "预售", Rules: "规则全文", ShareNotice: "可能需要付费", Status: status, Mode: presale.Deposit,
		Basis: presale.ByUnits, StartsAt: at, EndsAt: at.Add(72 * time.Hour), BalanceStartsAt: &bs, BalanceEndsAt: &be,
		ShipsBy: be.Add(24 * time.Hour), PerBuyerLimit: 3, MaxDepth: 3, CreatedAt: at, UpdatedAt: at,
		Items: []presale.Item{{SKUID: w.sku, Quota: 10, Deposit: 1900,
			Steps: []presale.Step{{FromUnit: 1, Price: 9900}, {FromUnit: 4, Price: 10900}}}},
	}
	failOn(t, w.s.CreatePresale(context.Background(), a))
	return a
}

// purchase builds a deposit purchase of qty units and its deposit order
// (or, full, an order that reserves its own stock).
func (w *presaleWorld) purchase(t testing.TB, a *presale.Activity, buyer string, qty int, full bool) (*presale.Order, *order.Draft) {
	t.Helper()
	po := &presale.Order{ID: ids.New(), ActivityID: a.ID, SKUID: w.sku, BuyerID: buyer, Mode: presale.Deposit, Qty: qty,
		Runs: []order.Run{{Qty: qty, Price: 9900}}, Amount: money.Fen(9900 * qty), Deposit: money.Fen(1900 * qty),
		Balance: money.Fen(8000 * qty), AddressID: ids.New(), Status: presale.Unpaid, Stock: presale.StockReserved,
		BalanceStartsAt: a.BalanceStartsAt, BalanceEndsAt: a.BalanceEndsAt, ShipsBy: a.ShipsBy,
		CreatedAt: presaleT0, UpdatedAt: presaleT0}
	offer := &order.Offer{Activity: order.Activity{Kind: order.ActivityPresaleDeposit, ID: a.ID, Ref: po.ID},
		Prices: map[string]money.Fen{w.sku: 1900}, Hold: true}
	if full {
		po.Mode, po.Deposit, po.Balance, po.Stock = presale.Full, 0, po.Amount, presale.NoStock
		po.BalanceStartsAt, po.BalanceEndsAt = nil, nil
		offer = &order.Offer{Activity: order.Activity{Kind: order.ActivityPresale, ID: a.ID, Ref: po.ID},
			Runs: map[string][]order.Run{w.sku: po.Runs}}
	}
	d, err := w.orders.Prepare(context.Background(), order.PlaceInput{BuyerID: buyer,
		Lines: []order.LineInput{{SKUID: w.sku, Qty: qty}}, AddressID: po.AddressID, Offer: offer})
	if err != nil {
		t.Fatal(err)
	}
	po.OrderID = d.Order.ID
	return po, d
}

func presaleClaim(a *presale.Activity, po *presale.Order, from, to int) presale.Claim {
	return presale.Claim{ActivityID: a.ID, SKUID: po.SKUID, BuyerID: po.BuyerID, Qty: po.Qty, From: from, To: to, Limit: a.PerBuyerLimit}
}

func (w *presaleWorld) sold(t *testing.T, id string) int {
	t.Helper()
	a, err := w.s.Presale(context.Background(), id)
	failOn(t, err)
	return a.Items[0].Sold
}

func testPresale(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("presales read back, drafts' items are replaced, pages", func(t *testing.T) {
		w := newPresaleWorld(t, open, 100)
		var made []*presale.Activity
		for i := range 3 {
			made = append(made, w.activity(t, presale.Draft, presaleT0.Add(time.Duration(i)*time.Minute)))
		}
		for _, want := range made {
			got, err := w.s.Presale(ctx, want.ID)
			failOn(t, err)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Presale = %+v, want %+v", got, want)
			}
		}
		from := presaleT0.Add(time.Hour)
		got, err := w.s.UpdatePresale(ctx, made[0].ID, func(a *presale.Activity) error {
			a.Basis, a.Title = presale.ByTime, "按时间涨价"
			a.Items[0].Steps = []presale.Step{{FromTime: &a.StartsAt, Price: 9900}, {FromTime: &from, Price: 10900}}
			return nil
		})
		failOn(t, err)
		if got.Basis != presale.ByTime || !got.Items[0].Steps[1].FromTime.Equal(from) {
			t.Fatalf("updated draft: %+v", got.Items)
		}
		if _, err := w.s.UpdatePresale(ctx, made[1].ID, func(*presale.Activity) error { return presale.ErrNotDraft }); !errs.Is(err, "presale_not_draft") {
			t.Fatalf("refused update: %v", err)
		}
		for _, id := range []string{ids.New(), "nope"} {
			if _, err := w.s.Presale(ctx, id); !errs.Is(err, "presale_not_found") {
				t.Fatalf("Presale(%s): %v", id, err)
			}
		}
		var seen []string
		f := presale.ActivityFilter{Limit: 2}
		for {
			page, err := w.s.Presales(ctx, f)
			failOn(t, err)
			for _, a := range page.Activities {
				if len(a.Items) != 1 {
					t.Fatalf("listed without items: %+v", a)
				}
				seen = append(seen, a.ID)
			}
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
		if len(seen) != 3 || seen[0] != made[2].ID || seen[2] != made[0].ID {
			t.Fatalf("paged %v", seen)
		}
		if _, err := w.s.Presales(ctx, presale.ActivityFilter{Cursor: "forged"}); !errs.Is(err, "invalid_cursor") {
			t.Fatalf("bad cursor: %v", err)
		}
	})

	t.Run("a purchase claims units in its range, the buyer's limit and the stock, with its order", func(t *testing.T) {
		w := newPresaleWorld(t, open, 4)
		draft := w.activity(t, presale.Draft, presaleT0)
		po, d := w.purchase(t, draft, ids.New(), 1, false)
		if err := w.s.BuyPresale(ctx, presaleClaim(draft, po, 0, 9), po, d, nil, nil); !errs.Is(err, "presale_not_open") {
			t.Fatalf("a draft's claim: %v", err)
		}
		a := w.activity(t, presale.Published, presaleT0)
		// Priced while 4 units are free; claimed when 2 are.
		p4, d4 := w.purchase(t, a, ids.New(), 3, true)
		buyer := ids.New()
		po, d = w.purchase(t, a, buyer, 2, false)
		ev := outbox.New(presale.TopicBought, po.ID, map[string]string{"id": po.ID}, presaleT0)
		job := jobs.New(presale.JobBalanceDue, po.ID, *po.BalanceEndsAt, nil)
		failOn(t, w.s.BuyPresale(ctx, presaleClaim(a, po, 0, 1), po, d, []outbox.Event{ev}, []jobs.Job{job}))
		if po.FirstUnit != 1 || w.sold(t, a.ID) != 2 {
			t.Fatalf("first unit %d, sold %d", po.FirstUnit, w.sold(t, a.ID))
		}
		read, err := w.s.PresaleOrder(ctx, po.ID)
		failOn(t, err)
		if !reflect.DeepEqual(read, po) {
			t.Fatalf("PresaleOrder = %+v, want %+v", read, po)
		}
		if l := w.online(t, w.sku); l.Reserved != 2 {
			t.Fatalf("stock after a deposit: %+v", l)
		}
		if o, err := w.s.Order(ctx, d.Order.ID); err != nil || !o.Held || o.Total != 3800 {
			t.Fatalf("deposit order: %+v, %v", o, err)
		}
		if js := claimJobs(t, w.s, "t", *po.BalanceEndsAt, time.Minute, 100); countKinds(js)[presale.JobBalanceDue] != 1 {
			t.Fatalf("jobs: %v", countKinds(js))
		}

		// Refusals change nothing: the range moved, the buyer's limit, the
		// quota, the stock.
		refused := func(c presale.Claim, po *presale.Order, d *order.Draft, code string) {
			t.Helper()
			err := w.s.BuyPresale(ctx, c, po, d, nil, nil)
			if code == "" && !errors.Is(err, presale.ErrStepMoved) || code != "" && !errs.Is(err, code) {
				t.Fatalf("claim %+v: %v; want %q", c, err, code)
			}
			if _, err := w.s.PresaleOrder(ctx, po.ID); !errs.Is(err, "presale_order_not_found") {
				t.Fatalf("a refused purchase was written: %v", err)
			}
			if _, err := w.s.Order(ctx, d.Order.ID); !errs.Is(err, "order_not_found") {
				t.Fatalf("a refused purchase's order was written: %v", err)
			}
		}
		p2, d2 := w.purchase(t, a, buyer, 2, false)
		refused(presaleClaim(a, p2, 0, 1), p2, d2, "")
		refused(presaleClaim(a, p2, 0, 9), p2, d2, "presale_limit_reached")
		p3, d3 := w.purchase(t, a, ids.New(), 3, false)
		refused(presaleClaim(a, p3, 2, 2), p3, d3, "out_of_stock") // 4 on hand, 2 reserved
		refused(presaleClaim(a, p4, 2, 2), p4, d4, "out_of_stock") // the order's own reservation
		if w.sold(t, a.ID) != 2 || w.online(t, w.sku).Reserved != 2 {
			t.Fatalf("refusals moved counts: sold %d, %+v", w.sold(t, a.ID), w.online(t, w.sku))
		}
		inventoryAdd(t, w, 100)
		for i := range 4 {
			p, d := w.purchase(t, a, ids.New(), 2, false)
			failOn(t, w.s.BuyPresale(ctx, presaleClaim(a, p, 2*i+2, 2*i+2), p, d, nil, nil))
		}
		p5, d5 := w.purchase(t, a, ids.New(), 1, false)
		refused(presaleClaim(a, p5, 0, 10), p5, d5, "presale_sold_out")
	})

	t.Run("an update moves counts, stock and ledger with the purchase, once", func(t *testing.T) {
		w := newPresaleWorld(t, open, 10)
		a := w.activity(t, presale.Published, presaleT0)
		po, d := w.purchase(t, a, ids.New(), 2, false)
		failOn(t, w.s.BuyPresale(ctx, presaleClaim(a, po, 0, 9), po, d, nil, nil))
		failOn(t, w.s.CreateAccount(ctx, ledger.Account{ID: presale.ForfeitAccount, Name: "f", Kind: ledger.Revenue}))
		// Revenue to move: a payment transfer of the deposit.
		failOn(t, w.s.PostTransfers(ctx, ledger.Transfer{ID: "payment:" + ids.New(), Kind: "test_payment", Ref: d.Order.ID,
			State: ledger.Posted, Entries: []ledger.Entry{ledger.Dr(ledger.ClearingWeChat, 3800), ledger.Cr(ledger.MerchantRevenue, 3800)}}))
		bal, err := w.orders.Prepare(ctx, order.PlaceInput{BuyerID: po.BuyerID, Lines: []order.LineInput{{SKUID: w.sku, Qty: 2}},
			AddressID: po.AddressID, Offer: &order.Offer{Activity: order.Activity{Kind: order.ActivityPresaleBalance, ID: a.ID, Ref: po.ID},
				Runs: map[string][]order.Run{w.sku: {{Qty: 2, Price: 8000}}}}})
		failOn(t, err)
		got, err := w.s.UpdatePresaleOrder(ctx, po.ID, func(o *presale.Order) (presale.Change, error) {
			o.BalanceOrderID, o.Status = bal.Order.ID, presale.DepositPaid
			return presale.Change{Order: bal}, nil
		})
		failOn(t, err)
		byBalance, err := w.s.PresaleOrderOf(ctx, bal.Order.ID)
		failOn(t, err)
		byFirst, err := w.s.PresaleOrderOf(ctx, d.Order.ID)
		failOn(t, err)
		if byBalance.ID != po.ID || byFirst.ID != po.ID || got.BalanceOrderID != bal.Order.ID {
			t.Fatalf("purchase of its orders: %s, %s", byBalance.ID, byFirst.ID)
		}
		if w.online(t, w.sku).Reserved != 2 {
			t.Fatal("the balance order moved stock")
		}
		forfeit := func(o *presale.Order) (presale.Change, error) {
			if o.Status != presale.DepositPaid {
				return presale.Change{}, presale.ErrNoop
			}
			o.Status, o.Forfeited, o.Stock, o.BalanceOrderID = presale.Forfeited, 3800, presale.StockReleased, ""
			o.Reversals = []presale.Reversal{{RefundID: "r1", Amount: 100}}
			return presale.Change{Stock: inventory.Release, Free: true, Transfers: []ledger.Transfer{{ID: presale.KindForfeit + ":" + o.ID,
				Kind: presale.KindForfeit, Ref: o.OrderID, State: ledger.Posted,
				Entries: []ledger.Entry{ledger.Dr(ledger.MerchantRevenue, 3800), ledger.Cr(presale.ForfeitAccount, 3800)}}}}, nil
		}
		for range 2 {
			_, err := w.s.UpdatePresaleOrder(ctx, po.ID, forfeit)
			failOn(t, err)
		}
		read, err := w.s.PresaleOrder(ctx, po.ID)
		failOn(t, err)
		if read.Status != presale.Forfeited || read.BalanceOrderID != "" || len(read.Reversals) != 1 || w.sold(t, a.ID) != 0 {
			t.Fatalf("after the change: %+v, sold %d", read, w.sold(t, a.ID))
		}
		if l := w.online(t, w.sku); l.Reserved != 0 || l.OnHand != 10 {
			t.Fatalf("stock after release: %+v", l)
		}
		if tr, err := w.s.Transfer(ctx, presale.KindForfeit+":"+po.ID); err != nil || tr.Amount() != 3800 {
			t.Fatalf("forfeit transfer: %+v, %v", tr, err)
		}
		breaches, err := w.s.CheckLedger(ctx)
		failOn(t, err)
		for _, b := range breaches {
			t.Errorf("breach: %+v", b)
		}
		if _, err := w.s.UpdatePresaleOrder(ctx, ids.New(), forfeit); !errs.Is(err, "presale_order_not_found") {
			t.Fatalf("missing: %v", err)
		}
		page, err := w.s.PresaleOrders(ctx, presale.OrderFilter{ActivityID: a.ID, Status: presale.Forfeited})
		failOn(t, err)
		if len(page.Orders) != 1 || page.Orders[0].ID != po.ID {
			t.Fatalf("listing: %+v", page)
		}
	})

	t.Run("racing claims of one range take exactly the range", func(t *testing.T) {
		w := newPresaleWorld(t, open, 100)
		a := w.activity(t, presale.Published, presaleT0)
		a, err := w.s.UpdatePresale(ctx, a.ID, func(a *presale.Activity) error { a.PerBuyerLimit = 1; return nil })
		failOn(t, err)
		const racers = 16
		errsOf := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			po, d := w.purchase(t, a, ids.New(), 1, false)
			wg.Go(func() { errsOf[i] = w.s.BuyPresale(ctx, presaleClaim(a, po, 0, 5), po, d, nil, nil) })
		}
		wg.Wait()
		won := 0
		for _, err := range errsOf {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, presale.ErrStepMoved):
				t.Fatalf("racer: %v", err)
			}
		}
		if won != 6 || w.sold(t, a.ID) != 6 || w.online(t, w.sku).Reserved != 6 {
			t.Fatalf("%d won, sold %d, stock %+v; want 6", won, w.sold(t, a.ID), w.online(t, w.sku))
		}
	})

	t.Run("the lowest price charged counts paid sales in the window", func(t *testing.T) {
		w := newPresaleWorld(t, open, 100)
		if _, ok, err := w.s.LowestPrice(ctx, w.sku, presaleT0.Add(-time.Hour), presaleT0); err != nil || ok {
			t.Fatalf("no sale: %v, %v", ok, err)
		}
		o := w.placed(t, 3)
		w.paid(t, o, presaleT0)
		low, ok, err := w.s.LowestPrice(ctx, w.sku, presaleT0.Add(-time.Hour), presaleT0)
		if err != nil || !ok || low != 11900 {
			t.Fatalf("after a sale: %d, %v, %v", low, ok, err)
		}
		if _, ok, _ := w.s.LowestPrice(ctx, w.sku, presaleT0.Add(time.Second), presaleT0.Add(time.Hour)); ok {
			t.Fatal("a sale before the window counted")
		}
	})
}

// inventoryAdd receives more units of the world's SKU.
func inventoryAdd(t *testing.T, w *presaleWorld, n int64) {
	t.Helper()
	_, err := w.s.AdjustStock(context.Background(), inventory.Movement{ID: ids.New(), SKUID: w.sku, Location: inventory.Online,
		OnHandDelta: n, Reason: inventory.Receive, At: presaleT0})
	failOn(t, err)
}

func (w *presaleWorld) placed(t *testing.T, qty int) *order.Order {
	t.Helper()
	o, err := w.orders.Place(context.Background(), order.PlaceInput{BuyerID: ids.New(),
		Lines: []order.LineInput{{SKUID: w.sku, Qty: qty}}, AddressID: ids.New()})
	failOn(t, err)
	return o
}

func (w *presaleWorld) paid(t *testing.T, o *order.Order, at time.Time) {
	t.Helper()
	_, err := w.s.UpdateOrder(context.Background(), o.ID, func(o *order.Order) (order.Change, error) {
		return w.orders.PaidChange(o, at)
	})
	failOn(t, err)
}
