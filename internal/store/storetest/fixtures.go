package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// shopFixture stocks a shop through the engine's own write paths
// (CreateProduct, AdjustStock), so a suite that needs goods on sale tests
// against rows those paths really write.
type shopFixture struct {
	s        Engine
	clock    *clock.Fake
	category string
}

// skuFixture is one SKU to put on sale: unit prices in fen and the units to
// receive at the online location.
type skuFixture struct {
	Spec       string
	List, Sale money.Fen
	Stock      int64
}

func newShopFixture(t testing.TB, s Engine, clk *clock.Fake) *shopFixture {
	t.Helper()
	c := &catalog.Category{ID: ids.New(), Name: "Tea", CreatedAt: clk.Now()}
	if err := s.CreateCategory(context.Background(), c, nil); err != nil {
		t.Fatalf("CreateCategory: %v", err)
	}
	return &shopFixture{s: s, clock: clk, category: c.ID}
}

// product puts a product on sale with the given SKUs, receives their stock,
// and returns the SKUs in the order given.
func (f *shopFixture) product(t testing.TB, title string, skus ...skuFixture) []catalog.SKU {
	t.Helper()
	ctx := context.Background()
	now := f.clock.Now()
	p := &catalog.Product{
		ID: ids.New(), CategoryID: f.category, Title: title, Images: []string{},
		Status: catalog.OnSale, CreatedAt: now, UpdatedAt: now,
	}
	for i, sf := range skus {
		p.SKUs = append(p.SKUs, catalog.SKU{
			ID: ids.New(), Specs: []catalog.Spec{{Name: "size", Value: sf.Spec}},
			ListPrice: sf.List, SalePrice: sf.Sale,
		})
		if i == 0 || sf.Sale < p.MinPrice {
			p.MinPrice = sf.Sale
		}
	}
	if err := f.s.CreateProduct(ctx, p, nil); err != nil {
		t.Fatalf("CreateProduct %s: %v", title, err)
	}
	for i, sf := range skus {
		if sf.Stock == 0 {
			continue
		}
		if _, err := f.s.AdjustStock(ctx, inventory.Movement{
			ID: ids.New(), SKUID: p.SKUs[i].ID, Location: inventory.Online,
			OnHandDelta: sf.Stock, Reason: inventory.Receive, At: now,
		}); err != nil {
			t.Fatalf("AdjustStock %s: %v", p.SKUs[i].ID, err)
		}
	}
	return p.SKUs
}

// sku is product with a single SKU.
func (f *shopFixture) sku(t testing.TB, title string, sf skuFixture) catalog.SKU {
	t.Helper()
	return f.product(t, title, sf)[0]
}

// online returns a SKU's online stock level (zero if it has none).
func (f *shopFixture) online(t testing.TB, skuID string) inventory.Level {
	t.Helper()
	ls, err := f.s.Levels(context.Background(), []string{skuID})
	if err != nil {
		t.Fatalf("Levels: %v", err)
	}
	for _, l := range ls {
		if l.Location == inventory.Online {
			return l
		}
	}
	return inventory.Level{SKUID: skuID, Location: inventory.Online}
}

var orderT0 = time.Date(2031, 6, 1, 9, 30, 0, 250000, time.UTC)

var orderShipTo = order.ShipTo{
	Name: "李小红", Phone: "13800138000", Province: "广东省", City: "深圳市", District: "南山区", Detail: "科技园路 1 号 2 栋 301",
}

// fixedShipTo is an address book in which every buyer has one address.
type fixedShipTo order.ShipTo

func (a fixedShipTo) ShipTo(context.Context, string, string) (order.ShipTo, error) {
	return order.ShipTo(a), nil
}

type orderWorld struct {
	*shopFixture
	s   Engine
	svc *order.Service
	// peek is the "now" of the next look at the outbox or the job queue:
	// it moves forward each time, so every look sees every row again.
	peek time.Time
}

func newOrderWorld(t *testing.T, open Opener) *orderWorld {
	s := open(t)
	clk := clock.NewFake(orderT0)
	p, err := pricing.New(pricing.Sale{}, pricing.Shipping{Fee: 800, FreeOver: 9900})
	if err != nil {
		t.Fatal(err)
	}
	return &orderWorld{
		shopFixture: newShopFixture(t, s, clk),
		s:           s,
		svc: &order.Service{
			Store: s, Catalog: s, Carts: s, Addresses: fixedShipTo(orderShipTo),
			Pricing: p, Clock: clk,
		},
		peek: orderT0.AddDate(50, 0, 0),
	}
}

func (w *orderWorld) place(t *testing.T, buyerID string, lines ...order.LineInput) *order.Order {
	t.Helper()
	o, err := w.svc.Place(context.Background(), order.PlaceInput{BuyerID: buyerID, Lines: lines, AddressID: ids.New()})
	if err != nil {
		t.Fatalf("Place: %v", err)
	}
	return o
}

// topics counts the events written about one order, by topic.
func (w *orderWorld) topics(t *testing.T, orderID string) map[string]int {
	t.Helper()
	w.peek = w.peek.Add(time.Hour)
	evs, err := w.s.ClaimEvents(context.Background(), w.peek, time.Microsecond, 10000)
	if err != nil {
		t.Fatalf("ClaimEvents: %v", err)
	}
	out := map[string]int{}
	for _, e := range evs {
		if e.Key == orderID {
			out[e.Topic]++
		}
	}
	return out
}

// jobsDue returns the live jobs of one order due at now.
func (w *orderWorld) jobsDue(t *testing.T, orderID string, now time.Time) []jobs.Job {
	t.Helper()
	js, err := w.s.ClaimJobs(context.Background(), "peek-"+ids.Token(4), now, time.Microsecond, 10000)
	if err != nil {
		t.Fatalf("ClaimJobs: %v", err)
	}
	var out []jobs.Job
	for _, j := range js {
		if j.Key == orderID {
			out = append(out, j)
		}
	}
	return out
}

// movements returns the journal lines of one SKU that reference an order.
func (w *orderWorld) movements(t *testing.T, skuID, orderID string) []inventory.Movement {
	t.Helper()
	ms, err := w.s.Journal(context.Background(), skuID, inventory.MaxJournal)
	if err != nil {
		t.Fatalf("Journal: %v", err)
	}
	var out []inventory.Movement
	for _, m := range ms {
		if m.Ref == orderID {
			out = append(out, m)
		}
	}
	return out
}

// wantLevel checks a SKU's online stock.
func (w *orderWorld) wantLevel(t *testing.T, skuID string, onHand, reserved int64) {
	t.Helper()
	if l := w.online(t, skuID); l.OnHand != onHand || l.Reserved != reserved {
		t.Errorf("SKU %s: on hand %d, reserved %d; want %d, %d", skuID, l.OnHand, l.Reserved, onHand, reserved)
	}
}

func wantErrCode(t *testing.T, err error, code string) *errs.Error {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Code != code {
		t.Fatalf("err = %v; want code %s", err, code)
	}
	return e
}

// listOrders pages through a listing to its end, returning the orders and how
// many pages it took.
func listOrders(t *testing.T, s Engine, f order.ListFilter) ([]order.Order, int) {
	t.Helper()
	var (
		out   []order.Order
		pages int
	)
	for {
		page, err := s.Orders(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if f.Limit > 0 && len(page.Orders) > f.Limit {
			t.Fatalf("page of %d; limit %d", len(page.Orders), f.Limit)
		}
		out = append(out, page.Orders...)
		if page.NextCursor == "" {
			return out, pages
		}
		f.Cursor = page.NextCursor
	}
}
