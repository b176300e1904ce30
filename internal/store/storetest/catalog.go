package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func init() { register("catalog", testCatalog) }

// catalogEpoch is when the catalog suites' products are created: far from
// the wall clock, so a store that stamps its own times fails.
var catalogEpoch = time.Date(2031, 5, 4, 10, 0, 0, 0, time.UTC)

func testCatalog(t *testing.T, open Opener) {
	t.Run("categories", func(t *testing.T) { testCategories(t, open(t)) })
	t.Run("product round trip", func(t *testing.T) { testProductRoundTrip(t, open(t)) })
	t.Run("update", func(t *testing.T) { testProductUpdate(t, open(t)) })
	t.Run("listing", func(t *testing.T) { testListing(t, open(t)) })
	t.Run("pagination", func(t *testing.T) { testPagination(t, open(t)) })
	t.Run("skus", func(t *testing.T) { testSKUs(t, open(t)) })
}

func testCategories(t *testing.T, s Engine) {
	ctx := context.Background()
	tea := catalogCategory(t, s, "", "Tea", 2)
	green := catalogCategory(t, s, tea.ID, "Green tea", 1)
	ware := catalogCategory(t, s, "", "Teaware", 1)

	got, err := s.Categories(ctx)
	failOn(t, err)
	// Sorted by the operator's sort, then by age.
	want := []catalog.Category{green, ware, tea}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Categories = %+v\nwant %+v", got, want)
	}

	orphan := &catalog.Category{ID: ids.New(), ParentID: ids.New(), Name: "orphan", CreatedAt: catalogEpoch}
	if err := s.CreateCategory(ctx, orphan, nil); !errs.Is(err, "category_not_found") {
		t.Fatalf("category under a missing parent: err = %v, want category_not_found", err)
	}
}

func testProductRoundTrip(t *testing.T, s Engine) {
	ctx := context.Background()
	cat := catalogCategory(t, s, "", "Tea", 0)
	p := &catalog.Product{
		ID: ids.New(), CategoryID: cat.ID, Title: "龙井明前茶 West Lake Longjing", Subtitle: "first spring pick",
		Description: "Picked before Qingming.\nPan-fired.", Images: []string{"https://img.example.com/a.jpg", "https://img.example.com/b.jpg"},
		Status: catalog.OnSale, MinPrice: 9900, CreatedAt: catalogEpoch, UpdatedAt: catalogEpoch.Add(time.Second),
	}
	p.SKUs = []catalog.SKU{
		{ID: ids.New(), ProductID: p.ID, Code: "LJ-50", Specs: []catalog.Spec{{Name: "规格", Value: "50g"}, {Name: "罐", Value: "铁"}},
			ListPrice: 12800, SalePrice: 9900, ChannelPrices: map[string]money.Fen{"tmall": 10900, "jd": 10500}},
		{ID: ids.New(), ProductID: p.ID, Specs: []catalog.Spec{{Name: "规格", Value: "100g"}, {Name: "罐", Value: "铁"}},
			ListPrice: 23800, SalePrice: 18800},
	}
	ev := outbox.New(catalog.TopicProductCreated, p.ID, map[string]string{"product_id": p.ID}, catalogEpoch)
	failOn(t, s.CreateProduct(ctx, p, []outbox.Event{ev}))

	got, err := s.Product(ctx, p.ID)
	failOn(t, err)
	wantSameProduct(t, got, p)

	claimed, err := s.ClaimEvents(ctx, catalogEpoch, time.Minute, 10)
	failOn(t, err)
	if len(claimed) != 1 || claimed[0].ID != ev.ID || claimed[0].Topic != catalog.TopicProductCreated {
		t.Fatalf("events after CreateProduct = %+v, want the one event given", claimed)
	}

	for name, id := range map[string]string{"unknown id": ids.New(), "malformed id": "not-a-uuid"} {
		if _, err := s.Product(ctx, id); !errs.Is(err, "product_not_found") {
			t.Errorf("Product(%s) err = %v, want product_not_found", name, err)
		}
	}

	stray := &catalog.Product{ID: ids.New(), CategoryID: ids.New(), Title: "stray", Status: catalog.Draft,
		CreatedAt: catalogEpoch, UpdatedAt: catalogEpoch}
	stray.SKUs = []catalog.SKU{{ID: ids.New(), ProductID: stray.ID, ListPrice: 1, SalePrice: 1}}
	if err := s.CreateProduct(ctx, stray, nil); !errs.Is(err, "category_not_found") {
		t.Fatalf("product in a missing category: err = %v, want category_not_found", err)
	}
}

func testProductUpdate(t *testing.T, s Engine) {
	ctx := context.Background()
	cat := catalogCategory(t, s, "", "Tea", 0)
	other := catalogCategory(t, s, "", "Gifts", 1)
	p := catalogProduct(t, s, cat.ID, "Oolong", catalog.Draft, catalogEpoch, 3990, 4990)

	later := catalogEpoch.Add(time.Hour)
	added := catalog.SKU{ID: ids.New(), Specs: []catalog.Spec{{Name: "size", Value: "big"}}, ListPrice: 9000, SalePrice: 2990,
		ChannelPrices: map[string]money.Fen{"douyin": 3100}}
	ev := outbox.New(catalog.TopicProductUpdated, p.ID, map[string]string{"product_id": p.ID}, later)
	got, err := s.UpdateProduct(ctx, p.ID, func(q *catalog.Product) ([]outbox.Event, error) {
		if !reflect.DeepEqual(q.SKUs, p.SKUs) {
			t.Errorf("fn got SKUs %+v, want %+v", q.SKUs, p.SKUs)
		}
		q.Title, q.CategoryID, q.Status, q.Images, q.UpdatedAt = "Milk Oolong", other.ID, catalog.OnSale, []string{"https://x.example/1.png"}, later
		q.SKUs[1].SalePrice, q.SKUs[1].Code = 4500, "MO-2"
		q.SKUs[1].ChannelPrices = map[string]money.Fen{"tmall": 4700}
		q.SKUs = append(q.SKUs, added)
		q.MinPrice = 2990
		return []outbox.Event{ev}, nil
	})
	failOn(t, err)
	want := *p
	want.Title, want.CategoryID, want.Status, want.Images, want.UpdatedAt = "Milk Oolong", other.ID, catalog.OnSale, []string{"https://x.example/1.png"}, later
	want.MinPrice = 2990
	want.SKUs = slices.Clone(p.SKUs)
	want.SKUs[1].SalePrice, want.SKUs[1].Code = 4500, "MO-2"
	want.SKUs[1].ChannelPrices = map[string]money.Fen{"tmall": 4700}
	added.ProductID = p.ID
	want.SKUs = append(want.SKUs, added)
	wantSameProduct(t, got, &want)
	reread, err := s.Product(ctx, p.ID)
	failOn(t, err)
	wantSameProduct(t, reread, &want)

	t.Run("a SKU left out of the slice is kept", func(t *testing.T) {
		_, err := s.UpdateProduct(ctx, p.ID, func(q *catalog.Product) ([]outbox.Event, error) {
			q.SKUs = q.SKUs[:1]
			return nil, nil
		})
		failOn(t, err)
		reread, err := s.Product(ctx, p.ID)
		failOn(t, err)
		if len(reread.SKUs) != 3 {
			t.Fatalf("after dropping SKUs from the slice: %d SKUs stored, want 3", len(reread.SKUs))
		}
	})

	t.Run("a failing fn writes nothing", func(t *testing.T) {
		boom := errs.E(errs.Conflict, "boom", "refused")
		_, err := s.UpdateProduct(ctx, p.ID, func(q *catalog.Product) ([]outbox.Event, error) {
			q.Title = "changed"
			q.SKUs[0].SalePrice = 1
			q.SKUs = append(q.SKUs, catalog.SKU{ID: ids.New(), Specs: []catalog.Spec{{Name: "size", Value: "huge"}}, ListPrice: 1, SalePrice: 1})
			return nil, boom
		})
		if !errs.Is(err, "boom") {
			t.Fatalf("err = %v, want fn's error", err)
		}
		reread, err := s.Product(ctx, p.ID)
		failOn(t, err)
		wantSameProduct(t, reread, &want)
	})

	t.Run("a missing category is refused", func(t *testing.T) {
		_, err := s.UpdateProduct(ctx, p.ID, func(q *catalog.Product) ([]outbox.Event, error) {
			q.CategoryID = ids.New()
			return nil, nil
		})
		if !errs.Is(err, "category_not_found") {
			t.Fatalf("err = %v, want category_not_found", err)
		}
	})

	t.Run("an unknown product is not found", func(t *testing.T) {
		for _, id := range []string{ids.New(), "nope"} {
			_, err := s.UpdateProduct(ctx, id, func(*catalog.Product) ([]outbox.Event, error) {
				t.Fatal("fn called for a missing product")
				return nil, nil
			})
			if !errs.Is(err, "product_not_found") {
				t.Fatalf("UpdateProduct(%q) err = %v, want product_not_found", id, err)
			}
		}
	})

	claimed, err := s.ClaimEvents(ctx, later, time.Minute, 10)
	failOn(t, err)
	if len(claimed) != 1 || claimed[0].ID != ev.ID {
		t.Fatalf("events = %+v, want only the successful update's", claimed)
	}
}

func testListing(t *testing.T, s Engine) {
	ctx := context.Background()
	tea := catalogCategory(t, s, "", "Tea", 0)
	ware := catalogCategory(t, s, "", "Teaware", 0)
	at := func(h int) time.Time { return catalogEpoch.Add(time.Duration(h) * time.Hour) }
	// Titles name the products in the expectations; created one hour apart.
	longjing := catalogProduct(t, s, tea.ID, "Longjing Green Tea", catalog.OnSale, at(1), 9900, 18800)
	oolong := catalogProduct(t, s, tea.ID, "Peach Oolong", catalog.OnSale, at(2), 3990)
	puer := catalogProduct(t, s, tea.ID, "Rose Pu'er TEA", catalog.OnSale, at(3), 6800)
	draft := catalogProduct(t, s, tea.ID, "Secret Tea", catalog.Draft, at(4), 100)
	pitcher := catalogProduct(t, s, ware.ID, "Glass Pitcher", catalog.OnSale, at(5), 3990) // ties with oolong on price
	eclair := catalogProduct(t, s, ware.ID, "ÉCLAIR Tea Tray", catalog.OnSale, at(6), 12900)
	retired := catalogProduct(t, s, ware.ID, "Old Tray", catalog.OffSale, at(7), 5000)

	// Equal prices fall back to the id, which grows with creation time.
	cheapest := []*catalog.Product{oolong, pitcher}
	slices.SortFunc(cheapest, func(a, b *catalog.Product) int { return strings.Compare(a.ID, b.ID) })
	onSale := catalog.OnSale
	cases := []struct {
		name string
		f    catalog.Filter
		want []*catalog.Product
	}{
		{"all, newest first", catalog.Filter{}, []*catalog.Product{retired, eclair, pitcher, draft, puer, oolong, longjing}},
		{"on sale", catalog.Filter{Status: onSale}, []*catalog.Product{eclair, pitcher, puer, oolong, longjing}},
		{"drafts", catalog.Filter{Status: catalog.Draft}, []*catalog.Product{draft}},
		{"category", catalog.Filter{CategoryID: ware.ID, Status: onSale}, []*catalog.Product{eclair, pitcher}},
		{"unknown category", catalog.Filter{CategoryID: ids.New()}, nil},
		{"malformed category", catalog.Filter{CategoryID: "tea"}, nil},
		{"query ignores case", catalog.Filter{Query: "tea", Status: onSale}, []*catalog.Product{eclair, puer, longjing}},
		{"query folds beyond ASCII", catalog.Filter{Query: "éclair"}, []*catalog.Product{eclair}},
		{"query is a substring", catalog.Filter{Query: "OLON"}, []*catalog.Product{oolong}},
		{"query with LIKE wildcards is literal", catalog.Filter{Query: "%"}, nil},
		{"price ascending", catalog.Filter{Status: onSale, Sort: catalog.SortPriceAsc},
			[]*catalog.Product{cheapest[0], cheapest[1], puer, longjing, eclair}},
		{"price descending", catalog.Filter{Status: onSale, Sort: catalog.SortPriceDesc},
			[]*catalog.Product{eclair, longjing, puer, cheapest[1], cheapest[0]}},
		{"price range", catalog.Filter{MinPrice: 3990, MaxPrice: 9900, Sort: catalog.SortPriceAsc},
			[]*catalog.Product{cheapest[0], cheapest[1], retired, puer, longjing}},
		{"min price only", catalog.Filter{MinPrice: 9901, Status: onSale}, []*catalog.Product{eclair}},
		{"everything at once", catalog.Filter{Status: onSale, CategoryID: tea.ID, Query: "TEA", MaxPrice: 9000}, []*catalog.Product{puer}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			page, err := s.Products(ctx, c.f)
			failOn(t, err)
			if got, want := productTitles(page.Products), productTitles(c.want); !slices.Equal(got, want) {
				t.Fatalf("Products(%+v) = %q\nwant %q", c.f, got, want)
			}
			if page.NextCursor != "" {
				t.Errorf("a single page has a next cursor %q", page.NextCursor)
			}
		})
	}

	t.Run("listed products carry their SKUs", func(t *testing.T) {
		page, err := s.Products(ctx, catalog.Filter{Query: "longjing"})
		failOn(t, err)
		if len(page.Products) != 1 {
			t.Fatalf("got %d products", len(page.Products))
		}
		wantSameProduct(t, &page.Products[0], longjing)
	})
}

func testPagination(t *testing.T, s Engine) {
	ctx := context.Background()
	cat := catalogCategory(t, s, "", "Tea", 0)
	const n = 23
	for i := range n {
		// Prices repeat, so pages must break ties by id to stay exact.
		catalogProduct(t, s, cat.ID, fmt.Sprintf("Tea %02d", i), catalog.OnSale, catalogEpoch.Add(time.Duration(i)*time.Minute), money.Fen(100*(i%5)+1))
	}
	for _, sort := range []catalog.Sort{catalog.SortNewest, catalog.SortPriceAsc, catalog.SortPriceDesc} {
		t.Run(string(sort), func(t *testing.T) {
			all, err := s.Products(ctx, catalog.Filter{Sort: sort, Limit: 100})
			failOn(t, err)
			if len(all.Products) != n {
				t.Fatalf("one big page has %d products, want %d", len(all.Products), n)
			}
			var walked []string
			f := catalog.Filter{Sort: sort, Limit: 5}
			pages := 0
			for {
				page, err := s.Products(ctx, f)
				failOn(t, err)
				pages++
				walked = append(walked, productTitles(page.Products)...)
				if page.NextCursor == "" {
					break
				}
				if len(page.Products) != 5 {
					t.Fatalf("page %d has %d products and a next cursor", pages, len(page.Products))
				}
				f.Cursor = page.NextCursor
			}
			if pages != 5 || !slices.Equal(walked, productTitles(all.Products)) {
				t.Fatalf("walked %d pages: %q\nwant 5 pages of %q", pages, walked, productTitles(all.Products))
			}
		})
	}

	t.Run("rows added while paging do not shift the pages", func(t *testing.T) {
		first, err := s.Products(ctx, catalog.Filter{Limit: 10})
		failOn(t, err)
		catalogProduct(t, s, cat.ID, "Tea newer", catalog.OnSale, catalogEpoch.Add(time.Hour), 5)
		second, err := s.Products(ctx, catalog.Filter{Limit: 10, Cursor: first.NextCursor})
		failOn(t, err)
		if got, want := second.Products[0].Title, fmt.Sprintf("Tea %02d", n-11); got != want {
			t.Fatalf("second page starts at %q, want %q", got, want)
		}
	})

	t.Run("a bad cursor is refused", func(t *testing.T) {
		asc, err := s.Products(ctx, catalog.Filter{Sort: catalog.SortPriceAsc, Limit: 2})
		failOn(t, err)
		for name, c := range map[string]string{
			"garbage":            "garbage!",
			"base64 of nonsense": "bm9uc2Vuc2U",
			"another ordering":   asc.NextCursor,
		} {
			if _, err := s.Products(ctx, catalog.Filter{Cursor: c}); !errs.Is(err, "invalid_cursor") {
				t.Errorf("%s: err = %v, want invalid_cursor", name, err)
			}
		}
	})

	t.Run("the limit is bounded", func(t *testing.T) {
		for limit, want := range map[int]int{0: catalog.DefaultLimit, -1: catalog.DefaultLimit, 1000: n + 1} {
			page, err := s.Products(ctx, catalog.Filter{Limit: limit})
			failOn(t, err)
			if len(page.Products) != want {
				t.Errorf("Limit %d: %d products, want %d", limit, len(page.Products), want)
			}
		}
	})
}

func testSKUs(t *testing.T, s Engine) {
	ctx := context.Background()
	cat := catalogCategory(t, s, "", "Tea", 0)
	p := catalogProduct(t, s, cat.ID, "Longjing", catalog.OnSale, catalogEpoch, 9900, 18800, 30000)
	a, b, c := p.SKUs[0].ID, p.SKUs[1].ID, p.SKUs[2].ID // available 7, 0, 0
	adjust := func(sku, loc string, d int64) {
		_, err := s.AdjustStock(ctx, inventory.Movement{ID: ids.New(), SKUID: sku, Location: loc, OnHandDelta: d,
			Reason: inventory.Receive, At: catalogEpoch})
		failOn(t, err)
	}
	adjust(a, inventory.Online, 7)
	adjust(b, "shanghai-01", 40) // an offline store's stock is not online availability

	got, err := s.SKUs(ctx, []string{a, b, c, ids.New(), "not-a-uuid"})
	failOn(t, err)
	if len(got) != 3 {
		t.Fatalf("SKUs returned %d entries, want 3 (unknown ids absent)", len(got))
	}
	product := *p
	product.SKUs = nil
	for i, available := range []int64{7, 0, 0} {
		want := p.SKUs[i]
		want.Available = available
		sp := got[want.ID]
		if !reflect.DeepEqual(sp.SKU, want) {
			t.Errorf("SKU %d = %+v\nwant %+v", i, sp.SKU, want)
		}
		if !reflect.DeepEqual(sp.Product, product) {
			t.Errorf("product of SKU %d = %+v\nwant %+v", i, sp.Product, product)
		}
	}
	if got, err := s.SKUs(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("SKUs(nil) = %v, %v; want an empty map", got, err)
	}

	prod, err := s.Product(ctx, p.ID)
	failOn(t, err)
	if prod.SKUs[0].Available != 7 || prod.SKUs[1].Available != 0 {
		t.Fatalf("Product availability = %d, %d; want 7, 0", prod.SKUs[0].Available, prod.SKUs[1].Available)
	}
}

func catalogCategory(t *testing.T, s Engine, parent, name string, sort int) catalog.Category {
	t.Helper()
	c := catalog.Category{ID: ids.New(), ParentID: parent, Name: name, Sort: sort, CreatedAt: catalogEpoch}
	failOn(t, s.CreateCategory(context.Background(), &c, nil))
	return c
}

// catalogProduct stores a product with one SKU per sale price (list price 100
// fen above it), each told apart by a "size" spec.
func catalogProduct(t *testing.T, s Engine, categoryID, title string, st catalog.Status, at time.Time, prices ...money.Fen) *catalog.Product {
	t.Helper()
	p := &catalog.Product{ID: ids.New(), CategoryID: categoryID, Title: title, Images: []string{},
		Status: st, MinPrice: slices.Min(prices), CreatedAt: at, UpdatedAt: at}
	for i, price := range prices {
		p.SKUs = append(p.SKUs, catalog.SKU{ID: ids.New(), ProductID: p.ID, Code: fmt.Sprintf("C%d", i),
			Specs: []catalog.Spec{{Name: "size", Value: fmt.Sprint(i)}}, ListPrice: price + 100, SalePrice: price})
	}
	failOn(t, s.CreateProduct(context.Background(), p, nil))
	return p
}

// wantSameProduct compares a product as read with the one written.
func wantSameProduct(t *testing.T, got, want *catalog.Product) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("product =\n%+v\nwant\n%+v", *got, *want)
	}
}

func productTitles(ps any) []string {
	var out []string
	switch ps := ps.(type) {
	case []catalog.Product:
		for _, p := range ps {
			out = append(out, p.Title)
		}
	case []*catalog.Product:
		for _, p := range ps {
			out = append(out, p.Title)
		}
	}
	return out
}
