package cart

import (
	"context"
	"slices"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// Service runs a buyer's cart against the live catalog.
type Service struct {
	Store   Store
	Catalog catalog.Store
	Clock   clock.Clock
	// Pricing, if set, is the order pipeline: a line shows the SKU's shelf
	// price from it (a limited-time price in force), so the cart, its
	// checkout and the order agree. Nil: the sale price.
	Pricing *pricing.Pipeline
}

// View is a cart as the buyer sees it: every line with what it costs now.
type View struct {
	Lines []ViewLine `json:"lines"`
	// Subtotal is what the lines on sale cost at today's prices; a line whose
	// product went off sale cannot be bought, so it does not count.
	Subtotal money.Fen `json:"subtotal"`
}

// ViewLine is one line of a View.
type ViewLine struct {
	SKUID        string    `json:"sku_id"`
	ProductID    string    `json:"product_id"`
	Title        string    `json:"title"`
	Spec         string    `json:"spec"`
	Image        string    `json:"image,omitempty"`
	Qty          int       `json:"qty"`
	Price        money.Fen `json:"price"`      // the unit price now (ShelfPrices)
	SeenPrice    money.Fen `json:"seen_price"` // the unit price when added
	PriceChanged bool      `json:"price_changed"`
	Amount       money.Fen `json:"amount"` // price x qty
	Available    int64     `json:"available"`
	OnSale       bool      `json:"on_sale"`
	AddedAt      time.Time `json:"added_at"`
}

// Add puts qty more units of a SKU in the buyer's cart, recording today's
// price as the one the buyer saw, so checkout can tell them if it moves.
func (s *Service) Add(ctx context.Context, buyerID, skuID string, qty int) (Line, error) {
	if qty < 1 || qty > MaxQty {
		return Line{}, ErrQtyTooLarge
	}
	sp, err := s.onSale(ctx, skuID)
	if err != nil {
		return Line{}, err
	}
	prices, err := ShelfPrices(ctx, s.Pricing, map[string]catalog.SKUWithProduct{skuID: sp})
	if err != nil {
		return Line{}, err
	}
	return s.Store.AddCartQty(ctx, buyerID, Line{SKUID: skuID, Qty: qty, SeenPrice: prices[skuID], AddedAt: s.Clock.Now()})
}

// SetQty sets a line's quantity; 0 removes the line. The price the buyer
// saw stays as it was: changing a quantity is not looking at the price.
// The line is read before it is replaced, so a removal racing this call
// may see the line come back; both are the same buyer's taps.
func (s *Service) SetQty(ctx context.Context, buyerID, skuID string, qty int) (Line, error) {
	if qty < 0 || qty > MaxQty {
		return Line{}, ErrQtyTooLarge
	}
	lines, err := s.Store.CartLines(ctx, buyerID)
	if err != nil {
		return Line{}, err
	}
	i := slices.IndexFunc(lines, func(l Line) bool { return l.SKUID == skuID })
	if i < 0 {
		return Line{}, ErrLineMissing
	}
	if qty == 0 {
		return Line{}, s.Store.RemoveCartLines(ctx, buyerID, []string{skuID})
	}
	l := lines[i]
	l.Qty = qty
	return l, s.Store.PutCartLine(ctx, buyerID, l)
}

// Remove takes SKUs out of the cart; an SKU not in it is ignored.
func (s *Service) Remove(ctx context.Context, buyerID string, skuIDs ...string) error {
	return s.Store.RemoveCartLines(ctx, buyerID, skuIDs)
}

// View returns the cart priced at today's prices, newest line first.
func (s *Service) View(ctx context.Context, buyerID string) (*View, error) {
	lines, err := s.Store.CartLines(ctx, buyerID)
	if err != nil {
		return nil, err
	}
	skuIDs := make([]string, len(lines))
	for i, l := range lines {
		skuIDs[i] = l.SKUID
	}
	skus, err := s.Catalog.SKUs(ctx, skuIDs)
	if err != nil {
		return nil, err
	}
	prices, err := ShelfPrices(ctx, s.Pricing, skus)
	if err != nil {
		return nil, err
	}
	v := &View{Lines: make([]ViewLine, 0, len(lines))}
	for _, l := range lines {
		vl := ViewLine{SKUID: l.SKUID, Qty: l.Qty, SeenPrice: l.SeenPrice, AddedAt: l.AddedAt}
		// SKUs are never deleted, so a missing one is a line to show as
		// unavailable rather than a reason to fail the whole cart.
		if sp, ok := skus[l.SKUID]; ok {
			vl.ProductID, vl.Title, vl.Spec = sp.Product.ID, sp.Product.Title, sp.SKU.SpecText()
			if len(sp.Product.Images) > 0 {
				vl.Image = sp.Product.Images[0]
			}
			vl.Price, vl.Available = prices[l.SKUID], sp.SKU.Available
			vl.OnSale = sp.Product.Status == catalog.OnSale
			vl.PriceChanged = vl.Price != l.SeenPrice
			vl.Amount = vl.Price.Mul(l.Qty)
		}
		if vl.OnSale {
			v.Subtotal += vl.Amount
		}
		v.Lines = append(v.Lines, vl)
	}
	return v, nil
}

// ShelfPrices is each SKU's unit price now as the shop asks it of everyone:
// the pipeline's shelf price (a limited-time price in force, else the sale
// price), or the sale price when there is no pipeline. Checkout compares
// what the buyer saw in the cart with it.
func ShelfPrices(ctx context.Context, p *pricing.Pipeline, skus map[string]catalog.SKUWithProduct) (map[string]money.Fen, error) {
	if p == nil {
		out := make(map[string]money.Fen, len(skus))
		for id, sp := range skus {
			out[id] = sp.SKU.SalePrice
		}
		return out, nil
	}
	lines := make([]pricing.Line, 0, len(skus))
	for id, sp := range skus {
		lines = append(lines, pricing.Line{SKUID: id, ListPrice: sp.SKU.ListPrice, SalePrice: sp.SKU.SalePrice})
	}
	return p.ShelfPrices(ctx, lines)
}

func (s *Service) onSale(ctx context.Context, skuID string) (catalog.SKUWithProduct, error) {
	skus, err := s.Catalog.SKUs(ctx, []string{skuID})
	if err != nil {
		return catalog.SKUWithProduct{}, err
	}
	sp, ok := skus[skuID]
	switch {
	case !ok:
		return sp, catalog.ErrSKUNotFound
	case sp.Product.Status != catalog.OnSale:
		return sp, ErrNotOnSale
	}
	return sp, nil
}
