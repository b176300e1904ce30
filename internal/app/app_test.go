package app_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/app"
	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/demo"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/config"
	"github.com/siyu-commerce/siyu/internal/share"
)

func seed(t *testing.T, a *apptest.App) demo.Result {
	t.Helper()
	res, err := demo.Seed(context.Background(), demo.Services{Catalog: a.Catalog, Inventory: a.Inventory, Identity: a.Identity,
		GroupBuys: a.GroupBuys, Bargains: a.Bargains, Now: a.Clock.Now}, a.Config.Dir())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func productCount(t *testing.T, a *apptest.App) int {
	t.Helper()
	n := 0
	f := catalog.Filter{Limit: 100}
	for {
		page, err := a.Catalog.List(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Products)
		if page.NextCursor == "" {
			return n
		}
		f.Cursor = page.NextCursor
	}
}

func TestDemoSeedsOnce(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			a := apptest.New(t, engine, nil)
			first := seed(t, a)
			if !first.Seeded || first.Products != 12 || productCount(t, a) != 12 {
				t.Fatalf("first seed: %+v, %d products", first, productCount(t, a))
			}
			for _, live := range []func() error{
				func() error { _, err := a.GroupBuys.Published(context.Background(), first.GroupBuyID); return err },
				func() error { _, err := a.Bargains.PublicActivity(context.Background(), first.BargainID); return err },
			} {
				if err := live(); err != nil {
					t.Fatalf("a demo activity is not live: %v", err)
				}
			}
			second := seed(t, a)
			if second.Seeded || productCount(t, a) != 12 || second.GroupBuyID != "" {
				t.Fatalf("second seed added data: %+v, %d products", second, productCount(t, a))
			}
			if second.OwnerPassword != first.OwnerPassword {
				t.Fatal("the owner's password changed between runs")
			}
			if _, _, _, err := a.Identity.OperatorLogin(context.Background(), first.OwnerEmail, first.OwnerPassword); err != nil {
				t.Fatalf("the printed owner credentials do not log in: %v", err)
			}
		})
	}
}

// buyerWithOrder logs a buyer in, gives them an address and places an order
// of qty units of the first SKU of the demo catalogue's first product.
func buyerWithOrder(t *testing.T, a *apptest.App, code string, qty int) (*order.Order, string) {
	t.Helper()
	ctx := context.Background()
	page, err := a.Catalog.ListForBuyer(ctx, catalog.Filter{Limit: 100})
	if err != nil || len(page.Products) == 0 {
		t.Fatalf("no products: %v", err)
	}
	// The best-stocked SKU, so every test order fits.
	var sku string
	var most int64
	for _, p := range page.Products {
		for _, k := range p.SKUs {
			if k.Available > most {
				sku, most = k.ID, k.Available
			}
		}
	}
	_, buyer, _, err := a.Identity.Login(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := a.Identity.CreateAddress(ctx, buyer.ID, identity.AddressInput{
		Name: "李雷", Phone: "13912345678", Province: "浙江省", City: "杭州市", District: "西湖区", Detail: "文一路 8 号",
	})
	if err != nil {
		t.Fatal(err)
	}
	o, err := a.Orders.Place(ctx, order.PlaceInput{BuyerID: buyer.ID, Lines: []order.LineInput{{SKUID: sku, Qty: qty}}, AddressID: addr.ID})
	if err != nil {
		t.Fatal(err)
	}
	return o, sku
}

func reserved(t testing.TB, a *apptest.App, sku string) int64 {
	t.Helper()
	ls, err := a.Inventory.Levels(context.Background(), []string{sku})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.Location == inventory.Online {
			return l.Reserved
		}
	}
	return 0
}

// TestUnpaidOrderClosesOnSchedule: the close-unpaid job, written with the
// order, closes it once the pay window has passed and not before, and the
// stock comes back.
func TestUnpaidOrderClosesOnSchedule(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			a := apptest.New(t, engine, func(c *config.Config) { c.PayWindow = 10 * time.Minute })
			seed(t, a)
			o, sku := buyerWithOrder(t, a, "close.1", 2)
			if got := reserved(t, a, sku); got != 2 {
				t.Fatalf("reserved = %d, want 2", got)
			}
			a.Clock.Advance(9 * time.Minute)
			a.Drain(t)
			if got, _ := a.Store.Order(context.Background(), o.ID); got.Status != order.PendingPayment {
				t.Fatalf("closed before its pay window ended: %s", got.Status)
			}
			a.Clock.Advance(2 * time.Minute)
			a.Drain(t)
			got, err := a.Store.Order(context.Background(), o.ID)
			if err != nil || got.Status != order.Closed {
				t.Fatalf("after the pay window: %v, %v; want closed", got.Status, err)
			}
			if r := reserved(t, a, sku); r != 0 {
				t.Fatalf("reserved = %d after close, want 0", r)
			}
		})
	}
}

// TestCloseJobsOnTwoReplicas: two apps on one PostgreSQL database (two
// replicas) run the job queue at the same time; every unpaid order is closed
// exactly once and every unit comes back exactly once.
func TestCloseJobsOnTwoReplicas(t *testing.T) {
	a := apptest.New(t, apptest.Postgres, func(c *config.Config) { c.PayWindow = time.Minute })
	seed(t, a)
	b, err := app.New(context.Background(), a.Config, app.Options{Clock: a.Clock, Log: a.Log})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const orders = 40
	var sku string
	for i := 0; i < orders; i++ {
		_, sku = buyerWithOrder(t, a, fmt.Sprintf("replica%d.1", i), 1)
	}
	a.Clock.Advance(2 * time.Minute)
	var wg sync.WaitGroup
	for _, r := range []*app.App{a.App, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := r.Jobs.RunOnce(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	page, err := a.Store.Orders(context.Background(), order.ListFilter{Status: order.Closed, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Orders) != orders {
		t.Fatalf("%d orders closed, want %d", len(page.Orders), orders)
	}
	if r := reserved(t, a, sku); r != 0 {
		t.Fatalf("reserved = %d after every order closed, want 0", r)
	}
	journal, err := a.Inventory.Journal(context.Background(), sku, 1000)
	if err != nil {
		t.Fatal(err)
	}
	releases := 0
	for _, m := range journal {
		if m.Reason == inventory.Release {
			releases++
		}
	}
	if releases != orders {
		t.Fatalf("%d stock releases journaled, want exactly %d", releases, orders)
	}
}

// TestShareKey: a share link signed under one SIYU_SHARE_KEY is refused by
// a shop with another, and a malformed key stops the app from starting.
func TestShareKey(t *testing.T) {
	ctx := context.Background()
	a := apptest.New(t, apptest.SQLite, func(c *config.Config) {
		c.ShareKey = "1111111111111111111111111111111111111111111111111111111111111111"
	})
	other := a.Config
	other.ShareKey = "2222222222222222222222222222222222222222222222222222222222222222"
	b, err := app.New(ctx, other, app.Options{Clock: a.Clock, Log: a.Log})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	seed(t, a)
	page, err := a.Catalog.ListForBuyer(ctx, catalog.Filter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, buyer, _, err := a.Identity.Login(ctx, "sharer.1")
	if err != nil {
		t.Fatal(err)
	}
	made, err := a.Shares.Create(ctx, buyer.ID, share.NewShare{TargetKind: share.Product, TargetID: page.Products[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	token := made.Token
	if _, err := b.Shares.Signer.Verify(token); err == nil {
		t.Fatal("a link signed under another share key verified")
	}
	if _, err := a.Shares.Signer.Verify(token); err != nil {
		t.Fatalf("the link does not verify under its own key: %v", err)
	}
	bad := a.Config
	bad.ShareKey = "short"
	if c, err := app.New(ctx, bad, app.Options{Clock: a.Clock, Log: a.Log}); err == nil {
		c.Close()
		t.Fatal("a malformed SIYU_SHARE_KEY was accepted")
	}
}

// stockedSKU puts one product of one SKU (list and sale price as given) on
// sale in a category of its own, with a million units online, and returns
// the SKU's id: the shop an activity's tests sell from.
func stockedSKU(t testing.TB, a *apptest.App, category string, list, sale money.Fen) string {
	t.Helper()
	ctx := context.Background()
	cat, err := a.Catalog.CreateCategory(ctx, catalog.NewCategory{Name: category})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Catalog.CreateProduct(ctx, catalog.NewProduct{CategoryID: cat.ID, Title: "龙井", Status: catalog.OnSale,
		SKUs: []catalog.NewSKU{{Specs: []catalog.Spec{{Name: "weight", Value: "50g"}}, ListPrice: list, SalePrice: sale}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Inventory.Adjust(ctx, p.SKUs[0].ID, inventory.Online, 1_000_000, inventory.Receive, "stock"); err != nil {
		t.Fatal(err)
	}
	return p.SKUs[0].ID
}
