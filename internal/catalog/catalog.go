// Package catalog owns what the shop sells: categories, products (SPU) and
// their SKUs by spec, with list, sale and per-channel prices. Listing order
// never depends on who is looking (DOMAIN.md, "Prices"; PIPL's
// non-personalised option).
package catalog

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

// Status is a product's sales status.
type Status string

const (
	Draft   Status = "draft"
	OnSale  Status = "on_sale"
	OffSale Status = "off_sale"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s == Draft || s == OnSale || s == OffSale }

// Channel names a sales channel for per-channel prices (the cross-channel
// parity check compares them).
const ChannelMiniProgram = "mini_program"

// Category groups products; one level of parent is enough for a brand shop.
type Category struct {
	ID        string    `json:"id"`
	ParentID  string    `json:"parent_id,omitempty"`
	Name      string    `json:"name"`
	Sort      int       `json:"sort"`
	CreatedAt time.Time `json:"created_at"`
}

// Spec is one dimension of a SKU, e.g. {Name: "colour", Value: "red"}.
type Spec struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// SKU is one sellable variant of a product.
type SKU struct {
	ID            string               `json:"id"`
	ProductID     string               `json:"product_id"`
	Code          string               `json:"code,omitempty"` // the merchant's own code
	Specs         []Spec               `json:"specs"`
	ListPrice     money.Fen            `json:"list_price"` // the crossed-out price
	SalePrice     money.Fen            `json:"sale_price"` // what the shop charges
	ChannelPrices map[string]money.Fen `json:"channel_prices,omitempty"`
	Available     int64                `json:"available"` // online stock not reserved; filled on reads
}

// SpecText renders the specs as "red / XL".
func (s SKU) SpecText() string {
	out := ""
	for i, sp := range s.Specs {
		if i > 0 {
			out += " / "
		}
		out += sp.Value
	}
	return out
}

// Product is an SPU: what a buyer sees as one item.
type Product struct {
	ID          string    `json:"id"`
	CategoryID  string    `json:"category_id"`
	Title       string    `json:"title"`
	Subtitle    string    `json:"subtitle,omitempty"`
	Description string    `json:"description,omitempty"`
	Images      []string  `json:"images"`
	Status      Status    `json:"status"`
	MinPrice    money.Fen `json:"min_price"` // lowest SKU sale price, for listing and sorting
	SKUs        []SKU     `json:"skus"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Sort orders a product listing. None of them looks at the buyer.
type Sort string

const (
	SortNewest    Sort = "newest"
	SortPriceAsc  Sort = "price_asc"
	SortPriceDesc Sort = "price_desc"
)

// Filter selects a page of products.
type Filter struct {
	CategoryID string
	Status     Status // empty: any (admin); the buyer API always asks for OnSale
	Query      string // substring of the title
	MinPrice   money.Fen
	MaxPrice   money.Fen // 0: no upper bound
	Sort       Sort
	Cursor     string // opaque, from the previous page
	Limit      int
}

// Page is one page of a listing.
type Page struct {
	Products   []Product `json:"items"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// Store keeps the catalog. Writes take the events to record in the same
// transaction.
type Store interface {
	CreateCategory(ctx context.Context, c *Category, ev []outbox.Event) error
	Categories(ctx context.Context) ([]Category, error)
	// CreateProduct inserts a product with its SKUs.
	CreateProduct(ctx context.Context, p *Product, ev []outbox.Event) error
	// UpdateProduct loads the product with its SKUs, lets fn change it, and
	// saves product and SKUs (new SKUs inserted, existing ones updated) with
	// the events fn returns, in one transaction.
	UpdateProduct(ctx context.Context, id string, fn func(p *Product) ([]outbox.Event, error)) (*Product, error)
	// Product returns a product with its SKUs and their online availability.
	Product(ctx context.Context, id string) (*Product, error)
	// Products lists a page; products carry their SKUs.
	Products(ctx context.Context, f Filter) (Page, error)
	// SKUs returns the SKUs with the given ids, each with its product (which
	// carries no SKUs), for pricing a cart or an order. Unknown ids are
	// absent from the map.
	SKUs(ctx context.Context, ids []string) (map[string]SKUWithProduct, error)
}

// SKUWithProduct is a SKU with the product it belongs to.
type SKUWithProduct struct {
	SKU     SKU
	Product Product
}
