package pricewindow

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/money"
)

// Shelf is what a buyer is shown of a SKU's price now. It depends on the
// SKU and the instant only, never on who is looking.
type Shelf struct {
	// Price is what one unit costs now before any activity and anything of
	// the buyer's own: the limited-time price in force, else the sale price.
	Price money.Fen
	// CrossedOut is the "original" price that may be shown crossed out next
	// to Price; 0 means none may be (see crossedOut).
	CrossedOut money.Fen
	// Running is the limited-time price in force, if any.
	Running *Window
	// Next is an announced window that has not started, if any.
	Next *Window
}

// Shelves works out the shelf of each SKU at the service's clock. A window
// whose price is not below the SKU's sale price (the sale price was lowered
// under it since) is not in force and not shown.
//
// The crossed-out price looks at the 7 days before the discount now shown
// began (SAMR 《规范促销行为暂行规定》: the basis of a reduction is the lowest
// price of the 7 days before the promotion): before the running window's
// start; else before the drop that set the sale price, if that was within 7
// days; else the 7 days up to now. Orders at the discounted price itself
// therefore never erase the crossed-out price during the discount, and a
// sale price that has stood for 7 days is the price, with nothing crossed
// out unless orders were really placed higher.
func (s *Service) Shelves(ctx context.Context, skus []catalog.SKU) (map[string]Shelf, error) {
	out := make(map[string]Shelf, len(skus))
	if len(skus) == 0 {
		return out, nil
	}
	now := s.Clock.Now()
	skuIDs := make([]string, len(skus))
	for i, sku := range skus {
		skuIDs[i] = sku.ID
	}
	shown, err := s.Store.ShownPriceWindows(ctx, skuIDs, now)
	if err != nil {
		return nil, err
	}
	hist, err := s.Store.PriceHistory(ctx, skuIDs, now.Add(-Period))
	if err != nil {
		return nil, err
	}
	bySKU := map[string][]PriceRecord{}
	for _, r := range hist {
		bySKU[r.SKUID] = append(bySKU[r.SKUID], r)
	}

	began := make(map[string]time.Time, len(skus))
	from, to := now, now.Add(-Period)
	for _, sku := range skus {
		sh := Shelf{Price: sku.SalePrice}
		for i := range shown {
			w := &shown[i]
			if w.SKUID != sku.ID || w.Price >= sku.SalePrice {
				continue
			}
			w.State = w.StateAt(now)
			switch {
			case w.State == Running:
				sh.Running, sh.Price = w, w.Price
			case sh.Next == nil || w.StartsAt.Before(sh.Next.StartsAt):
				sh.Next = w
			}
		}
		b := now
		if sh.Running != nil {
			b = sh.Running.StartsAt
		} else if at, ok := dropAt(bySKU[sku.ID], sku.SalePrice, now.Add(-Period)); ok {
			b = at
		}
		began[sku.ID] = b
		from, to = minTime(from, b.Add(-Period)), maxTime(to, b)
		out[sku.ID] = sh
	}

	rows, err := s.Store.ChargedPrices(ctx, skuIDs, from, to)
	if err != nil {
		return nil, err
	}
	for _, sku := range skus {
		sh := out[sku.ID]
		sh.CrossedOut = crossedOut(sku.ListPrice, sh.Price, rows, sku.ID, began[sku.ID])
		out[sku.ID] = sh
	}
	return out, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
