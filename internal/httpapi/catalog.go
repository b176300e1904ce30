package httpapi

import (
	"net/http"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricewindow"
)

type categoryList struct {
	Items []catalog.Category `json:"items"`
}

// shopProduct is a product as a buyer sees it: no status (it is on sale, or
// it is not shown), no merchant codes, no other channels' prices.
type shopProduct struct {
	ID          string    `json:"id"`
	CategoryID  string    `json:"category_id"`
	Title       string    `json:"title"`
	Subtitle    string    `json:"subtitle,omitempty"`
	Description string    `json:"description,omitempty"`
	Images      []string  `json:"images"`
	MinPrice    money.Fen `json:"min_price"`
	SKUs        []shopSKU `json:"skus"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// shopSKU's prices are the shelf's (pricewindow.Shelf), the same for
// everyone: SalePrice is what one unit costs now (a limited-time price in
// force, else the sale price) and ListPrice the price that may be shown
// crossed out next to it, never above the lowest price charged in the 7
// days before the discount (DOMAIN.md "Prices"). When nothing may be
// crossed out, ListPrice equals SalePrice: the stored list price is never
// shown to a buyer as such.
type shopSKU struct {
	ID              string         `json:"id"`
	Specs           []catalog.Spec `json:"specs"`
	ListPrice       money.Fen      `json:"list_price"`
	SalePrice       money.Fen      `json:"sale_price"`
	LimitedTime     *shopWindow    `json:"limited_time,omitempty"`      // the limited-time price in force
	NextLimitedTime *shopWindow    `json:"next_limited_time,omitempty"` // one announced, not started
	Available       int64          `json:"available"`
}

// shopWindow is a limited-time price as a buyer sees it.
type shopWindow struct {
	Price    money.Fen `json:"price"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
}

func toShopWindow(w *pricewindow.Window) *shopWindow {
	if w == nil {
		return nil
	}
	return &shopWindow{Price: w.Price, StartsAt: w.StartsAt, EndsAt: w.EndsAt}
}

// toShopProduct shows p at the shelves' prices; a SKU without a shelf shows
// its sale price with nothing crossed out.
func toShopProduct(p catalog.Product, shelves map[string]pricewindow.Shelf) shopProduct {
	out := shopProduct{ID: p.ID, CategoryID: p.CategoryID, Title: p.Title, Subtitle: p.Subtitle,
		Description: p.Description, Images: p.Images, MinPrice: p.MinPrice, SKUs: make([]shopSKU, len(p.SKUs)),
		UpdatedAt: p.UpdatedAt}
	if out.Images == nil {
		out.Images = []string{}
	}
	for i, s := range p.SKUs {
		specs := s.Specs
		if specs == nil {
			specs = []catalog.Spec{}
		}
		sh, ok := shelves[s.ID]
		if !ok {
			sh = pricewindow.Shelf{Price: s.SalePrice}
		}
		list := sh.CrossedOut
		if list <= sh.Price {
			list = sh.Price
		}
		out.SKUs[i] = shopSKU{ID: s.ID, Specs: specs, ListPrice: list, SalePrice: sh.Price,
			LimitedTime: toShopWindow(sh.Running), NextLimitedTime: toShopWindow(sh.Next), Available: max(s.Available, 0)}
		if i == 0 || sh.Price < out.MinPrice {
			out.MinPrice = sh.Price
		}
	}
	return out
}

// shelves works out what the buyer is shown of the products' SKUs' prices.
func (a *api) shelves(r *http.Request, ps ...catalog.Product) (map[string]pricewindow.Shelf, error) {
	if a.d.PriceWindows == nil {
		return nil, nil
	}
	var skus []catalog.SKU
	for _, p := range ps {
		skus = append(skus, p.SKUs...)
	}
	return a.d.PriceWindows.Shelves(r.Context(), skus)
}

type shopProductPage struct {
	Items      []shopProduct `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

var productSorts = []string{string(catalog.SortNewest), string(catalog.SortPriceAsc), string(catalog.SortPriceDesc)}

// productFilter reads a listing's filters from the query; extra names the
// parameters only one of the two listings takes.
func productFilter(r *http.Request, extra ...string) (catalog.Filter, *query) {
	q := newQuery(r, append([]string{"category_id", "q", "min_price", "max_price", "sort", "cursor", "limit"}, extra...)...)
	f := catalog.Filter{
		CategoryID: q.id("category_id"),
		Query:      q.text("q", catalog.MaxQuery),
		MinPrice:   q.fen("min_price"),
		MaxPrice:   q.fen("max_price"),
		Sort:       catalog.Sort(q.oneOf("sort", productSorts...)),
		Cursor:     q.cursor(),
		Limit:      q.limit(),
	}
	if f.MaxPrice > 0 && f.MaxPrice < f.MinPrice {
		q.errs.Add("max_price", "invalid_parameter", "max_price must be at least min_price")
	}
	return f, q
}

func (a *api) listCategories(w http.ResponseWriter, r *http.Request) {
	cs, err := a.d.Catalog.Categories(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	if cs == nil {
		cs = []catalog.Category{}
	}
	writeJSON(w, r, http.StatusOK, categoryList{Items: cs})
}

func (a *api) listProducts(w http.ResponseWriter, r *http.Request) {
	f, q := productFilter(r)
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Catalog.ListForBuyer(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	shelves, err := a.shelves(r, page.Products...)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := shopProductPage{Items: make([]shopProduct, len(page.Products)), NextCursor: page.NextCursor}
	for i, p := range page.Products {
		out.Items[i] = toShopProduct(p, shelves)
	}
	writeJSON(w, r, http.StatusOK, out)
}

// productID returns the {id} of the path; a malformed one names no product.
func productID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !ids.Valid(id) {
		return "", catalog.ErrNotFound
	}
	return id, nil
}

func (a *api) getProduct(w http.ResponseWriter, r *http.Request) {
	id, err := productID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, err := a.d.Catalog.ProductForBuyer(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	shelves, err := a.shelves(r, *p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, toShopProduct(*p, shelves))
}
