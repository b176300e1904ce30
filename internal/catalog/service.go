package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/page"
)

// Topics of the events the catalog writes.
const (
	TopicProductCreated = "catalog.product_created"
	TopicProductUpdated = "catalog.product_updated"
)

// ProductEvent is the payload of the product events. It carries every SKU's
// prices so a consumer can keep a price history: the crossed-out price may
// not exceed the lowest price charged in the previous 7 days (DOMAIN.md,
// "Prices"), which needs every change on record.
type ProductEvent struct {
	ProductID string     `json:"product_id"`
	Title     string     `json:"title"`
	Status    Status     `json:"status"`
	MinPrice  money.Fen  `json:"min_price"`
	SKUs      []SKUPrice `json:"skus"`
}

// SKUPrice is one SKU's prices in a ProductEvent.
type SKUPrice struct {
	SKUID     string    `json:"sku_id"`
	ListPrice money.Fen `json:"list_price"`
	SalePrice money.Fen `json:"sale_price"`
}

// Service runs the catalog rules for operators (who see every product) and
// buyers (who see only what is on sale).
type Service struct {
	Store Store
	Clock clock.Clock
	// PriceGuard, if set, vets every rise of a SKU's sale price (the
	// limited-time prices refuse one just before a discount).
	PriceGuard PriceGuard
}

// PriceGuard vets a rise of a SKU's sale price, under the product's lock.
// DOMAIN.md ("Prices"): no price raise just before a discount.
type PriceGuard interface {
	CheckSaleRaise(ctx context.Context, skuID string, at time.Time) error
}

// NewCategory is an operator's new category.
type NewCategory struct {
	Name     string
	ParentID string // empty: a top-level category
	Sort     int
}

// CreateCategory adds a category. A parent must be top-level itself: one
// level of nesting is all a brand shop's navigation shows.
func (s *Service) CreateCategory(ctx context.Context, in NewCategory) (*Category, error) {
	var l errs.List
	name := strings.TrimSpace(in.Name)
	checkText(&l, "name", name, 1, MaxCategoryName)
	if in.ParentID != "" {
		cats, err := s.Store.Categories(ctx)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(cats, func(c Category) bool { return c.ID == in.ParentID })
		switch {
		case i < 0:
			l.Add("parent_id", "category_not_found", "no such category")
		case cats[i].ParentID != "":
			l.Add("parent_id", "category_too_deep", "a sub-category cannot have sub-categories")
		}
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	c := &Category{ID: ids.New(), ParentID: in.ParentID, Name: name, Sort: in.Sort, CreatedAt: s.Clock.Now()}
	if err := s.Store.CreateCategory(ctx, c, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// Categories lists every category.
func (s *Service) Categories(ctx context.Context) ([]Category, error) {
	return s.Store.Categories(ctx)
}

// NewProduct is an operator's new product.
type NewProduct struct {
	CategoryID  string
	Title       string
	Subtitle    string
	Description string
	Images      []string
	Status      Status // empty: draft
	SKUs        []NewSKU
}

// NewSKU is one SKU of a new product, or one added to a product later.
type NewSKU struct {
	Code          string
	Specs         []Spec
	ListPrice     money.Fen
	SalePrice     money.Fen
	ChannelPrices map[string]money.Fen
}

// CreateProduct checks every field, reporting all the faults at once, and
// stores the product with its product_created event.
func (s *Service) CreateProduct(ctx context.Context, in NewProduct) (*Product, error) {
	var l errs.List
	now := s.Clock.Now()
	p := &Product{
		ID: ids.New(), CategoryID: in.CategoryID, Title: strings.TrimSpace(in.Title),
		Subtitle: strings.TrimSpace(in.Subtitle), Description: in.Description,
		Images: in.Images, Status: in.Status, CreatedAt: now, UpdatedAt: now,
	}
	if p.Status == "" {
		p.Status = Draft
	}
	if p.Images == nil {
		p.Images = []string{}
	}
	checkProductFields(&l, p)
	if err := s.checkCategory(ctx, &l, p.CategoryID); err != nil {
		return nil, err
	}
	switch {
	case len(in.SKUs) == 0:
		l.Add("skus", "skus_required", "a product needs at least one SKU")
	case len(in.SKUs) > MaxSKUs:
		l.Add("skus", "too_many_skus", "a product has at most %d SKUs", MaxSKUs)
	}
	for i, ns := range in.SKUs {
		sku := ns.sku(p.ID)
		checkSKU(&l, fmt.Sprintf("skus[%d]", i), &sku)
		p.SKUs = append(p.SKUs, sku)
	}
	checkSpecCombos(&l, p.SKUs, func(i int) string { return fmt.Sprintf("skus[%d].specs", i) })
	if err := l.Err(); err != nil {
		return nil, err
	}
	p.MinPrice = minPrice(p.SKUs)
	if err := s.Store.CreateProduct(ctx, p, []outbox.Event{s.event(TopicProductCreated, p)}); err != nil {
		return nil, err
	}
	return p, nil
}

// ProductPatch changes a product. Nil fields are left as they are; Images
// set to an empty, non-nil slice clears them.
type ProductPatch struct {
	CategoryID  *string
	Title       *string
	Subtitle    *string
	Description *string
	Images      []string
	Status      *Status
	SKUs        []SKUPatch // changes to existing SKUs, by id
	NewSKUs     []NewSKU   // SKUs to add
}

// SKUPatch changes one existing SKU. Its specs stay as they are: orders and
// carts already name it by them. ChannelPrices, when non-nil, replaces the
// SKU's channel prices (an empty map clears them).
type SKUPatch struct {
	ID            string
	Code          *string
	ListPrice     *money.Fen
	SalePrice     *money.Fen
	ChannelPrices map[string]money.Fen
}

// UpdateProduct applies a patch. SKUs are never deleted, since orders refer
// to them; an operator takes one off sale by taking the product off sale or
// by not stocking it. The checks that depend on the stored product (a SKU's
// price against its other price, spec combinations against the existing
// SKUs) run under the store's lock, so they see what is saved.
func (s *Service) UpdateProduct(ctx context.Context, id string, in ProductPatch) (*Product, error) {
	var pre errs.List
	if in.CategoryID != nil {
		if err := s.checkCategory(ctx, &pre, *in.CategoryID); err != nil {
			return nil, err
		}
	}
	return s.Store.UpdateProduct(ctx, id, func(p *Product) ([]outbox.Event, error) {
		l := slices.Clone(pre)
		in.apply(p)
		checkProductFields(&l, p)
		byID := map[string]int{}
		for i, sku := range p.SKUs {
			byID[sku.ID] = i
		}
		paths := make([]string, len(p.SKUs)) // where a fault in each SKU's specs is reported
		for i, sp := range in.SKUs {
			path := fmt.Sprintf("skus[%d]", i)
			k, ok := byID[sp.ID]
			if !ok {
				l.Add(path+".id", "sku_not_found", "the product has no SKU %q", sp.ID)
				continue
			}
			was := p.SKUs[k].SalePrice
			sp.apply(&p.SKUs[k])
			checkSKU(&l, path, &p.SKUs[k])
			paths[k] = path
			if s.PriceGuard != nil && p.SKUs[k].SalePrice > was {
				if err := s.PriceGuard.CheckSaleRaise(ctx, sp.ID, s.Clock.Now()); err != nil {
					return nil, atField(err, path+".sale_price")
				}
			}
		}
		for i, ns := range in.NewSKUs {
			path := fmt.Sprintf("new_skus[%d]", i)
			sku := ns.sku(p.ID)
			checkSKU(&l, path, &sku)
			p.SKUs = append(p.SKUs, sku)
			paths = append(paths, path)
		}
		if len(p.SKUs) > MaxSKUs {
			l.Add("new_skus", "too_many_skus", "a product has at most %d SKUs", MaxSKUs)
		}
		// Existing specs never change, so a clash is always reported at a
		// SKU that has a path: the later of the pair, a new one.
		checkSpecCombos(&l, p.SKUs, func(i int) string { return paths[i] + ".specs" })
		if err := l.Err(); err != nil {
			return nil, err
		}
		p.MinPrice = minPrice(p.SKUs)
		p.UpdatedAt = s.Clock.Now()
		return []outbox.Event{s.event(TopicProductUpdated, p)}, nil
	})
}

// SetStatus puts a product on sale or takes it off.
func (s *Service) SetStatus(ctx context.Context, id string, st Status) (*Product, error) {
	return s.UpdateProduct(ctx, id, ProductPatch{Status: &st})
}

// Product is the operator's view of one product, whatever its status.
func (s *Service) Product(ctx context.Context, id string) (*Product, error) {
	return s.Store.Product(ctx, id)
}

// ProductForBuyer returns a product a buyer may see: one on sale. A draft
// or withdrawn product is not found rather than forbidden, so its existence
// does not leak.
func (s *Service) ProductForBuyer(ctx context.Context, id string) (*Product, error) {
	p, err := s.Store.Product(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Status != OnSale {
		return nil, ErrNotFound
	}
	return p, nil
}

// List is the operator's listing: every status unless the filter names one.
func (s *Service) List(ctx context.Context, f Filter) (Page, error) {
	f, err := f.normalise()
	if err != nil {
		return Page{}, err
	}
	return s.Store.Products(ctx, f)
}

// ListForBuyer lists what is on sale. Its order comes from the filter
// alone, never from who asks (DOMAIN.md, "Prices"; PIPL's non-personalised
// option).
func (s *Service) ListForBuyer(ctx context.Context, f Filter) (Page, error) {
	f.Status = OnSale
	return s.List(ctx, f)
}

// normalise fills the defaults and refuses what no store should run.
func (f Filter) normalise() (Filter, error) {
	var l errs.List
	f.Query = strings.TrimSpace(f.Query)
	if utf8.RuneCountInString(f.Query) > MaxQuery {
		l.Add("q", "too_long", "at most %d characters", MaxQuery)
	}
	if f.Status != "" && !f.Status.Valid() {
		l.Add("status", "invalid_status", "status is draft, on_sale or off_sale")
	}
	switch f.Sort {
	case "":
		f.Sort = SortNewest
	case SortNewest, SortPriceAsc, SortPriceDesc:
	default:
		l.Add("sort", "invalid_sort", "sort is newest, price_asc or price_desc")
	}
	if f.MinPrice < 0 {
		l.Add("min_price", "out_of_range", "a price is not negative")
	}
	if f.MaxPrice < 0 || (f.MaxPrice > 0 && f.MaxPrice < f.MinPrice) {
		l.Add("max_price", "out_of_range", "max_price is at least min_price")
	}
	f.Limit = Limit(f.Limit)
	return f, l.Err()
}

// Limit applies the page-size rule: DefaultLimit when unset, at most
// MaxLimit. Stores apply it too, so a caller that skipped the service still
// cannot ask for an unbounded page.
func Limit(n int) int { return page.Size(n, DefaultLimit, MaxLimit) }

func (s *Service) checkCategory(ctx context.Context, l *errs.List, id string) error {
	if id == "" {
		l.Add("category_id", "required", "a product belongs to a category")
		return nil
	}
	cats, err := s.Store.Categories(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(cats, func(c Category) bool { return c.ID == id }) {
		l.Add("category_id", "category_not_found", "no such category")
	}
	return nil
}

func (s *Service) event(topic string, p *Product) outbox.Event {
	ev := ProductEvent{ProductID: p.ID, Title: p.Title, Status: p.Status, MinPrice: p.MinPrice}
	for _, sku := range p.SKUs {
		ev.SKUs = append(ev.SKUs, SKUPrice{SKUID: sku.ID, ListPrice: sku.ListPrice, SalePrice: sku.SalePrice})
	}
	return outbox.New(topic, p.ID, ev, s.Clock.Now())
}

// atField names field on a refusal that came without one.
func atField(err error, field string) error {
	e, ok := errs.As(err)
	if !ok || e.Field != "" {
		return err
	}
	c := *e
	c.Field = field
	return &c
}

func (in ProductPatch) apply(p *Product) {
	if in.CategoryID != nil {
		p.CategoryID = *in.CategoryID
	}
	if in.Title != nil {
		p.Title = strings.TrimSpace(*in.Title)
	}
	if in.Subtitle != nil {
		p.Subtitle = strings.TrimSpace(*in.Subtitle)
	}
	if in.Description != nil {
		p.Description = *in.Description
	}
	if in.Images != nil {
		p.Images = in.Images
	}
	if in.Status != nil {
		p.Status = *in.Status
	}
}

func (sp SKUPatch) apply(sku *SKU) {
	if sp.Code != nil {
		sku.Code = strings.TrimSpace(*sp.Code)
	}
	if sp.ListPrice != nil {
		sku.ListPrice = *sp.ListPrice
	}
	if sp.SalePrice != nil {
		sku.SalePrice = *sp.SalePrice
	}
	if sp.ChannelPrices != nil {
		sku.ChannelPrices = sp.ChannelPrices
	}
}

func (ns NewSKU) sku(productID string) SKU {
	specs := make([]Spec, len(ns.Specs))
	for i, sp := range ns.Specs {
		specs[i] = Spec{Name: strings.TrimSpace(sp.Name), Value: strings.TrimSpace(sp.Value)}
	}
	return SKU{
		ID: ids.New(), ProductID: productID, Code: strings.TrimSpace(ns.Code), Specs: specs,
		ListPrice: ns.ListPrice, SalePrice: ns.SalePrice, ChannelPrices: ns.ChannelPrices,
	}
}
