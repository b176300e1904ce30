package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siyu-commerce/siyu/internal/app"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/rush"
)

// rushShop is the shop a rush loads, seen through its services: it opens
// the sessions and reads the sale back from the database.
type rushShop struct {
	a      *app.App
	skuID  string
	runID  string
	length time.Duration // how long a session stays open
}

var _ rush.Shop = (*rushShop)(nil)

// The seeded prices: the flash price must be below the everyday one, or
// the session is refused as a false discount.
const (
	rushListPrice  money.Fen = 1999
	rushSalePrice  money.Fen = 1599
	rushFlashPrice money.Fen = 99
)

// seedRush creates the product, its SKU and the stock both sessions carve
// their quotas from, and signs the buyers in, each with an address, through
// the same services the API calls. Nothing is warmed.
func seedRush(ctx context.Context, a *app.App, runID string, f rushFlags) (*rushShop, []rush.Buyer, error) {
	cat, err := a.Catalog.CreateCategory(ctx, catalog.NewCategory{Name: "siyu rush " + runID})
	if err != nil {
		return nil, nil, err
	}
	p, err := a.Catalog.CreateProduct(ctx, catalog.NewProduct{CategoryID: cat.ID, Title: "siyu rush " + runID, Status: catalog.OnSale,
		SKUs: []catalog.NewSKU{{Specs: []catalog.Spec{{Name: "run", Value: runID}}, ListPrice: rushListPrice, SalePrice: rushSalePrice}}})
	if err != nil {
		return nil, nil, err
	}
	sku := p.SKUs[0].ID
	// An adjustment moves at most a million units; the two quotas may need
	// two.
	for left := int64(rush.SellingQuota + f.units); left > 0; left -= 1_000_000 {
		if _, err := a.Inventory.Adjust(ctx, sku, inventory.Online, min(left, 1_000_000), inventory.Receive, "siyu rush "+runID); err != nil {
			return nil, nil, err
		}
	}
	buyers, err := signInBuyers(ctx, a, runID, f.buyers)
	if err != nil {
		return nil, nil, err
	}
	// Every phase, its drain and the settle, with room to spare: the
	// sessions must not end under the load.
	length := max(15*time.Minute, 10*(f.duration+f.timeout)+3*f.settle)
	return &rushShop{a: a, skuID: sku, runID: runID, length: length}, buyers, nil
}

// signInBuyers signs n buyers in through the login simulator (a code per
// buyer, as wx.login gives one) and gives each an address, 16 at a time.
func signInBuyers(ctx context.Context, a *app.App, runID string, n int) ([]rush.Buyer, error) {
	buyers := make([]rush.Buyer, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				token, b, _, err := a.Identity.Login(ctx, fmt.Sprintf("rush%sb%d.1", runID, i))
				var addr *identity.Address
				if err == nil {
					addr, err = a.Identity.CreateAddress(ctx, b.ID, identity.AddressInput{
						Name: "秒杀买家", Phone: fmt.Sprintf("138%08d", i), Province: "浙江省", City: "杭州市", District: "西湖区",
						Detail: fmt.Sprintf("文三路 %d 号", i+1)})
				}
				if err != nil {
					select {
					case errc <- fmt.Errorf("signing buyer %d in: %w", i, err):
					default:
					}
					cancel()
					return
				}
				buyers[i] = rush.Buyer{ID: b.ID, Token: token, AddressID: addr.ID}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	return buyers, ctx.Err()
}

// OpenSale creates a session of the seeded SKU whose gate opens a moment
// later (a session must start in the future), and waits for the gate.
func (s *rushShop) OpenSale(ctx context.Context, name string, quota, limit int) (rush.Sale, error) {
	start := s.a.Clock.Now().Add(time.Second)
	sess, err := s.a.Flash.CreateSession(ctx, "siyu-rush", flashsale.NewSession{
		Name: "siyu rush " + s.runID + " " + name, StartsAt: start, EndsAt: start.Add(s.length),
		PayMinutes: flashsale.MaxPayMinutes, // no unpaid order closes, and frees its unit, during the run
		SKUs:       []flashsale.NewSessionSKU{{SKUID: s.skuID, Price: rushFlashPrice, Quota: quota, Limit: limit}},
	})
	if err != nil {
		return rush.Sale{}, err
	}
	t := time.NewTimer(time.Until(start))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return rush.Sale{}, ctx.Err()
	case <-t.C:
	}
	return rush.Sale{Name: name, SessionID: sess.ID, SKUID: s.skuID, Quota: quota, Limit: limit}, nil
}

// Ordered is the units the session's written reservations hold: the order
// writer adds them in the transaction that writes their orders.
func (s *rushShop) Ordered(ctx context.Context, sale rush.Sale) (int, error) {
	sess, err := s.a.Flash.Stats(ctx, sale.SessionID)
	if err != nil {
		return 0, err
	}
	k, _ := sess.SKU(sale.SKUID)
	return k.Won, nil
}

// Truth reads the sale back three ways: the session's won count, its live
// reservations (each with its buyer), and the orders themselves, every one
// placed through the session, counted per reservation they name.
func (s *rushShop) Truth(ctx context.Context, sale rush.Sale) (rush.Truth, error) {
	sess, err := s.a.Flash.Stats(ctx, sale.SessionID)
	if err != nil {
		return rush.Truth{}, err
	}
	k, _ := sess.SKU(sale.SKUID)
	t := rush.Truth{UnitsWon: k.Won, BuyerUnits: map[string]int{}, OrdersByReservation: map[string]int{}}
	holds, err := s.a.Store.FlashHolds(ctx, sale.SessionID)
	if err != nil {
		return t, err
	}
	for _, h := range holds[sale.SKUID] {
		t.BuyerUnits[h.BuyerID] += h.Qty
	}
	// The orders, newest first, until they are older than the session.
	byBuyer := map[string]int{}
	f := order.ListFilter{Limit: order.MaxLimit}
	for {
		page, err := s.a.Orders.List(ctx, f)
		if err != nil {
			return t, err
		}
		for _, o := range page.Orders {
			if o.Activity == nil || o.Activity.Kind != order.ActivityFlashSale || o.Activity.ID != sale.SessionID {
				continue
			}
			t.Orders++
			t.OrdersByReservation[o.Activity.Ref]++
			for _, l := range o.Lines {
				if l.SKUID == sale.SKUID {
					t.OrderedUnits += l.Qty
					byBuyer[o.BuyerID] += l.Qty
				}
			}
		}
		if page.NextCursor == "" || len(page.Orders) == 0 || page.Orders[len(page.Orders)-1].CreatedAt.Before(sess.CreatedAt) {
			break
		}
		f.Cursor = page.NextCursor
	}
	for id, u := range byBuyer {
		t.BuyerUnits[id] = max(t.BuyerUnits[id], u)
	}
	return t, nil
}
