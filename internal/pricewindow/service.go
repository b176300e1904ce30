package pricewindow

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/page"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// Orders reads an order back, for the record of what was charged.
type Orders interface {
	Order(ctx context.Context, id string) (*order.Order, error)
}

// Service runs limited-time prices and the crossed-out price rule.
type Service struct {
	Store  Store
	Orders Orders
	Clock  clock.Clock
}

var (
	_ pricing.LimitedPrices = (*Service)(nil)
	_ catalog.PriceGuard    = (*Service)(nil)
)

// Create checks and stores an operator's window. Every fault of the request
// itself is reported at once; then, under the store's lock, the price must
// be below the SKU's sale price, no other window of the SKU may overlap,
// and the sale price must not have risen in the 7 days before the start.
func (s *Service) Create(ctx context.Context, in NewWindow) (*Window, error) {
	now := s.Clock.Now()
	if err := in.Faults(now).Err(); err != nil {
		return nil, err
	}
	w := &Window{
		ID: ids.New(), SKUID: in.SKUID, Price: in.Price, StartsAt: in.StartsAt.UTC(), EndsAt: in.EndsAt.UTC(),
		CreatedAt: now, UpdatedAt: now,
	}
	if in.AnnounceAt != nil {
		at := in.AnnounceAt.UTC()
		w.AnnounceAt = &at
	}
	since := w.StartsAt.Add(-Period)
	err := s.Store.CreatePriceWindow(ctx, w, since, func(f Facts) error { return judge(w, f, since, now) })
	if err != nil {
		return nil, err
	}
	w.State = w.StateAt(now)
	return w, nil
}

// Window is an operator's read of one window.
func (s *Service) Window(ctx context.Context, id string) (*Window, error) {
	w, err := s.Store.PriceWindow(ctx, id)
	if err != nil {
		return nil, err
	}
	w.State = w.StateAt(s.Clock.Now())
	return w, nil
}

// List lists the windows of one SKU or one product, newest first.
func (s *Service) List(ctx context.Context, f Filter) (Page, error) {
	var l errs.List
	switch {
	case (f.SKUID == "") == (f.ProductID == ""):
		l.Add("sku_id", "sku_or_product_required", "name a SKU (sku_id) or a product (product_id), not both")
	case f.SKUID != "" && !ids.Valid(f.SKUID):
		l.Add("sku_id", "invalid_id", "sku_id must be the id of a SKU")
	case f.ProductID != "" && !ids.Valid(f.ProductID):
		l.Add("product_id", "invalid_id", "product_id must be the id of a product")
	}
	if err := l.Err(); err != nil {
		return Page{}, err
	}
	f.Limit = page.Size(f.Limit, DefaultLimit, MaxLimit)
	p, err := s.Store.PriceWindows(ctx, f)
	if err != nil {
		return Page{}, err
	}
	now := s.Clock.Now()
	for i := range p.Windows {
		p.Windows[i].State = p.Windows[i].StateAt(now)
	}
	return p, nil
}

// End ends a running window now. Ending one that is over already changes
// nothing; one not started yet is deleted, not ended (ErrNotStarted), so
// an ended window always ran.
func (s *Service) End(ctx context.Context, id string) (*Window, error) {
	now := s.Clock.Now()
	w, err := s.Store.EndPriceWindow(ctx, id, now)
	if err != nil {
		return nil, err
	}
	w.State = w.StateAt(now)
	if w.State == Upcoming {
		return nil, ErrNotStarted
	}
	return w, nil
}

// Delete deletes a window that has not started. One that has started is on
// record (orders were priced by it): it is ended instead (ErrStarted).
func (s *Service) Delete(ctx context.Context, id string) error {
	return s.Store.DeletePriceWindow(ctx, id, s.Clock.Now())
}

// LimitedPrices is the pricing pipeline's view: the price of each SKU's
// window running at `at`.
func (s *Service) LimitedPrices(ctx context.Context, skuIDs []string, at time.Time) (map[string]pricing.LimitedPrice, error) {
	ws, err := s.Store.ShownPriceWindows(ctx, skuIDs, at)
	if err != nil {
		return nil, err
	}
	out := map[string]pricing.LimitedPrice{}
	for _, w := range ws {
		if w.StateAt(at) == Running {
			out[w.SKUID] = pricing.LimitedPrice{Price: w.Price, Ref: w.ID}
		}
	}
	return out, nil
}

// CheckSaleRaise is the catalog's guard (catalog.PriceGuard): a SKU's sale
// price may not rise while one of its windows starts within the next 7
// days. With the refusal at creation (ErrRecentRaise), no window ever
// starts less than 7 days after a raise, whichever came first.
func (s *Service) CheckSaleRaise(ctx context.Context, skuID string, at time.Time) error {
	ws, err := s.Store.PriceWindowsBetween(ctx, []string{skuID}, at, at.Add(Period))
	if err != nil {
		return err
	}
	for _, w := range ws {
		if w.StartsAt.After(at) {
			e := *ErrRaiseBeforeDiscount
			e.Message += " (" + w.ID + " starts at " + w.StartsAt.Format(time.RFC3339) + ")"
			return &e
		}
	}
	return nil
}
