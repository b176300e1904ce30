package catalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/seal"
	"github.com/siyu-commerce/siyu/internal/store/sqlite"
)

var epoch = time.Date(2031, 6, 1, 8, 0, 0, 0, time.UTC)

// newService runs the catalog on a real, fresh SQLite store.
func newService(t *testing.T) (*catalog.Service, *sqlite.Store, *clock.Fake) {
	t.Helper()
	sealer, err := seal.New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "siyu.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(epoch)
	return &catalog.Service{Store: st, Clock: clk}, st, clk
}

func mustCategory(t *testing.T, svc *catalog.Service, name string) *catalog.Category {
	t.Helper()
	c, err := svc.CreateCategory(context.Background(), catalog.NewCategory{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// validProduct is a new product every rule accepts; cases break one thing.
func validProduct(categoryID string) catalog.NewProduct {
	return catalog.NewProduct{
		CategoryID: categoryID, Title: "  龙井明前茶  ", Images: []string{"https://img.example.com/lj.jpg"},
		Status: catalog.OnSale,
		SKUs: []catalog.NewSKU{
			{Specs: []catalog.Spec{{Name: "规格", Value: "50g"}}, ListPrice: 12800, SalePrice: 9900,
				ChannelPrices: map[string]money.Fen{"tmall": 10900}},
			{Specs: []catalog.Spec{{Name: "规格", Value: "100g"}}, ListPrice: 23800, SalePrice: 18800},
		},
	}
}

func TestCreateProduct(t *testing.T) {
	svc, st, _ := newService(t)
	ctx := context.Background()
	cat := mustCategory(t, svc, "Tea")

	p, err := svc.CreateProduct(ctx, validProduct(cat.ID))
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "龙井明前茶" || p.MinPrice != 9900 || p.Status != catalog.OnSale || !p.CreatedAt.Equal(epoch) {
		t.Fatalf("created %+v", p)
	}
	got, err := svc.Product(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.SKUs[0].ChannelPrices["tmall"] != 10900 || got.SKUs[1].SpecText() != "100g" {
		t.Fatalf("stored %+v", got)
	}

	evs, err := st.ClaimEvents(ctx, epoch, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Topic != catalog.TopicProductCreated || evs[0].Key != p.ID {
		t.Fatalf("events = %+v, want one product_created", evs)
	}
	var payload catalog.ProductEvent
	if err := json.Unmarshal(evs[0].Payload, &payload); err != nil || len(payload.SKUs) != 2 || payload.MinPrice != 9900 {
		t.Fatalf("payload = %s (%v)", evs[0].Payload, err)
	}

	draft := validProduct(cat.ID)
	draft.Status = ""
	if p, err := svc.CreateProduct(ctx, draft); err != nil || p.Status != catalog.Draft {
		t.Fatalf("no status given: %v, %v; want a draft", p, err)
	}
}

func TestCreateProductReportsEveryFault(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	cat := mustCategory(t, svc, "Tea")
	cases := []struct {
		name  string
		spoil func(p *catalog.NewProduct)
		want  map[string]string // field -> code
	}{
		{"empty title", func(p *catalog.NewProduct) { p.Title = "   " }, map[string]string{"title": "required"}},
		{"long title", func(p *catalog.NewProduct) { p.Title = strings.Repeat("茶", catalog.MaxTitle+1) },
			map[string]string{"title": "length_out_of_range"}},
		{"title of exactly the limit", func(p *catalog.NewProduct) { p.Title = strings.Repeat("茶", catalog.MaxTitle) }, nil},
		{"unknown category", func(p *catalog.NewProduct) { p.CategoryID = ids.New() },
			map[string]string{"category_id": "category_not_found"}},
		{"no category", func(p *catalog.NewProduct) { p.CategoryID = "" }, map[string]string{"category_id": "required"}},
		{"bad status", func(p *catalog.NewProduct) { p.Status = "sold_out" }, map[string]string{"status": "invalid_status"}},
		{"no SKUs", func(p *catalog.NewProduct) { p.SKUs = nil }, map[string]string{"skus": "skus_required"}},
		{"too many SKUs", func(p *catalog.NewProduct) {
			p.SKUs = nil
			for i := range catalog.MaxSKUs + 1 {
				p.SKUs = append(p.SKUs, catalog.NewSKU{Specs: []catalog.Spec{{Name: "n", Value: strconv.Itoa(i)}}, ListPrice: 1, SalePrice: 1})
			}
		}, map[string]string{"skus": "too_many_skus"}},
		{"sale above list", func(p *catalog.NewProduct) { p.SKUs[1].SalePrice = 23801 },
			map[string]string{"skus[1].sale_price": "above_list_price"}},
		{"sale equal to list", func(p *catalog.NewProduct) { p.SKUs[1].SalePrice = 23800 }, nil},
		{"negative price", func(p *catalog.NewProduct) { p.SKUs[0].ListPrice = -1 },
			map[string]string{"skus[0].list_price": "price_out_of_range"}},
		{"price over the limit", func(p *catalog.NewProduct) {
			p.SKUs[0].ListPrice, p.SKUs[0].SalePrice = catalog.MaxPrice+1, catalog.MaxPrice+1
		}, map[string]string{"skus[0].list_price": "price_out_of_range", "skus[0].sale_price": "price_out_of_range"}},
		{"price at the limit", func(p *catalog.NewProduct) { p.SKUs[0].ListPrice = catalog.MaxPrice }, nil},
		{"free", func(p *catalog.NewProduct) { p.SKUs[0].ListPrice, p.SKUs[0].SalePrice = 0, 0 }, nil},
		{"same specs twice", func(p *catalog.NewProduct) { p.SKUs[1].Specs = []catalog.Spec{{Name: "规格", Value: " 50g"}} },
			map[string]string{"skus[1].specs": "duplicate_specs"}},
		{"same specs in another order", func(p *catalog.NewProduct) {
			p.SKUs[0].Specs = []catalog.Spec{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}}
			p.SKUs[1].Specs = []catalog.Spec{{Name: "b", Value: "2"}, {Name: "a", Value: "1"}}
		}, map[string]string{"skus[1].specs": "duplicate_specs"}},
		{"empty spec value", func(p *catalog.NewProduct) { p.SKUs[0].Specs[0].Value = "" },
			map[string]string{"skus[0].specs[0].value": "required"}},
		{"spec named twice in a SKU", func(p *catalog.NewProduct) {
			p.SKUs[0].Specs = append(p.SKUs[0].Specs, catalog.Spec{Name: "规格", Value: "罐"})
		}, map[string]string{"skus[0].specs[1].name": "duplicate_spec"}},
		{"bad channel name", func(p *catalog.NewProduct) { p.SKUs[0].ChannelPrices = map[string]money.Fen{"Tmall": 1} },
			map[string]string{"skus[0].channel_prices": "invalid_channel"}},
		{"negative channel price", func(p *catalog.NewProduct) { p.SKUs[1].ChannelPrices = map[string]money.Fen{"jd": -5} },
			map[string]string{"skus[1].channel_prices.jd": "price_out_of_range"}},
		{"image not http", func(p *catalog.NewProduct) { p.Images = []string{"https://ok.example/a.png", "javascript:alert(1)"} },
			map[string]string{"images[1]": "invalid_url"}},
		{"too many images", func(p *catalog.NewProduct) {
			p.Images = slices.Repeat([]string{"http://img.example.com/a.jpg"}, catalog.MaxImages+1)
		}, map[string]string{"images": "too_many_images"}},
		{"several faults at once", func(p *catalog.NewProduct) {
			p.Title, p.SKUs[0].SalePrice, p.SKUs[1].Specs[0].Name = "", 99999, ""
		}, map[string]string{"title": "required", "skus[0].sale_price": "above_list_price", "skus[1].specs[0].name": "required"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := validProduct(cat.ID)
			c.spoil(&in)
			_, err := svc.CreateProduct(ctx, in)
			if c.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("err = %v, want invalid", err)
			}
			got := map[string]string{}
			for _, fe := range errs.Fields(err) {
				got[fe.Field] = fe.Code
			}
			if len(got) != len(c.want) {
				t.Fatalf("faults = %v, want %v", got, c.want)
			}
			for f, code := range c.want {
				if got[f] != code {
					t.Fatalf("faults = %v, want %v", got, c.want)
				}
			}
		})
	}
}

func TestUpdateProduct(t *testing.T) {
	svc, st, clk := newService(t)
	ctx := context.Background()
	cat := mustCategory(t, svc, "Tea")
	p, err := svc.CreateProduct(ctx, validProduct(cat.ID))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	title, sale, code := "Longjing 2031", money.Fen(8800), "LJ-50"
	got, err := svc.UpdateProduct(ctx, p.ID, catalog.ProductPatch{
		Title:   &title,
		SKUs:    []catalog.SKUPatch{{ID: p.SKUs[0].ID, SalePrice: &sale, Code: &code, ChannelPrices: map[string]money.Fen{}}},
		NewSKUs: []catalog.NewSKU{{Specs: []catalog.Spec{{Name: "规格", Value: "250g"}}, ListPrice: 50000, SalePrice: 45000}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != title || got.MinPrice != 8800 || len(got.SKUs) != 3 || !got.UpdatedAt.Equal(epoch.Add(time.Hour)) {
		t.Fatalf("updated %+v", got)
	}
	reread, err := svc.Product(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	s0 := reread.SKUs[0]
	if s0.SalePrice != 8800 || s0.ListPrice != 12800 || s0.Code != "LJ-50" || s0.ChannelPrices != nil ||
		reread.SKUs[2].SpecText() != "250g" || reread.Subtitle != p.Subtitle || reread.Status != catalog.OnSale {
		t.Fatalf("stored %+v", reread)
	}

	t.Run("faults are reported at the patch's paths and nothing is saved", func(t *testing.T) {
		above, bad := money.Fen(99999), ""
		_, err := svc.UpdateProduct(ctx, p.ID, catalog.ProductPatch{
			Title: &bad,
			SKUs:  []catalog.SKUPatch{{ID: p.SKUs[1].ID}, {ID: p.SKUs[0].ID, SalePrice: &above}, {ID: ids.New()}},
			NewSKUs: []catalog.NewSKU{
				{Specs: []catalog.Spec{{Name: "规格", Value: "100g"}}, ListPrice: 1, SalePrice: 1}, // an existing SKU's specs
			},
		})
		got := map[string]string{}
		for _, fe := range errs.Fields(err) {
			got[fe.Field] = fe.Code
		}
		want := map[string]string{"title": "required", "skus[1].sale_price": "above_list_price",
			"skus[2].id": "sku_not_found", "new_skus[0].specs": "duplicate_specs"}
		if len(got) != len(want) {
			t.Fatalf("faults = %v, want %v", got, want)
		}
		for f, c := range want {
			if got[f] != c {
				t.Fatalf("faults = %v, want %v", got, want)
			}
		}
		again, err := svc.Product(ctx, p.ID)
		if err != nil || again.Title != title || len(again.SKUs) != 3 {
			t.Fatalf("a refused patch changed the product: %+v, %v", again, err)
		}
	})

	t.Run("unknown product", func(t *testing.T) {
		if _, err := svc.UpdateProduct(ctx, ids.New(), catalog.ProductPatch{Title: &title}); !errs.Is(err, "product_not_found") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("unknown category", func(t *testing.T) {
		other := ids.New()
		_, err := svc.UpdateProduct(ctx, p.ID, catalog.ProductPatch{CategoryID: &other})
		if fs := errs.Fields(err); len(fs) != 1 || fs[0].Field != "category_id" {
			t.Fatalf("err = %v", err)
		}
	})

	evs, err := st.ClaimEvents(ctx, epoch, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	topics := []string{}
	for _, e := range evs {
		topics = append(topics, e.Topic)
	}
	if !slices.Equal(topics, []string{catalog.TopicProductCreated, catalog.TopicProductUpdated}) {
		t.Fatalf("topics = %v, want created then one update", topics)
	}
}

func TestBuyersSeeOnlyWhatIsOnSale(t *testing.T) {
	svc, _, clk := newService(t)
	ctx := context.Background()
	cat := mustCategory(t, svc, "Tea")
	mk := func(title string, st catalog.Status) *catalog.Product {
		in := validProduct(cat.ID)
		in.Title, in.Status = title, st
		p, err := svc.CreateProduct(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
		return p
	}
	onSale := mk("on sale", catalog.OnSale)
	draft := mk("draft", catalog.Draft)
	off := mk("off sale", catalog.OffSale)

	if _, err := svc.ProductForBuyer(ctx, onSale.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*catalog.Product{draft, off} {
		if _, err := svc.ProductForBuyer(ctx, p.ID); !errs.Is(err, "product_not_found") {
			t.Errorf("buyer reads a %s product: err = %v, want product_not_found", p.Status, err)
		}
		if _, err := svc.Product(ctx, p.ID); err != nil {
			t.Errorf("operator reads a %s product: %v", p.Status, err)
		}
	}
	page, err := svc.ListForBuyer(ctx, catalog.Filter{Status: catalog.Draft})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Products) != 1 || page.Products[0].ID != onSale.ID {
		t.Fatalf("buyer listing asking for drafts = %d products, want only the one on sale", len(page.Products))
	}
	page, err = svc.List(ctx, catalog.Filter{})
	if err != nil || len(page.Products) != 3 {
		t.Fatalf("operator listing = %d products, %v; want 3", len(page.Products), err)
	}

	// Taking a product off sale hides it from buyers at once.
	if _, err := svc.SetStatus(ctx, onSale.ID, catalog.OffSale); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ProductForBuyer(ctx, onSale.ID); !errs.Is(err, "product_not_found") {
		t.Fatalf("after SetStatus(off_sale): err = %v", err)
	}
	if _, err := svc.SetStatus(ctx, onSale.ID, "gone"); errs.KindOf(err) != errs.Invalid {
		t.Fatalf("SetStatus(gone): err = %v, want invalid", err)
	}
}

func TestFilterRules(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	cases := []struct {
		f     catalog.Filter
		field string
	}{
		{catalog.Filter{Sort: "popular"}, "sort"},
		{catalog.Filter{Status: "hidden"}, "status"},
		{catalog.Filter{MinPrice: -1}, "min_price"},
		{catalog.Filter{MinPrice: 500, MaxPrice: 100}, "max_price"},
		{catalog.Filter{Query: strings.Repeat("q", catalog.MaxQuery+1)}, "q"},
		{catalog.Filter{Cursor: "not a cursor"}, "cursor"},
	}
	for _, c := range cases {
		_, err := svc.List(ctx, c.f)
		if fs := errs.Fields(err); len(fs) != 1 || fs[0].Field != c.field {
			t.Errorf("List(%+v) err = %v, want a fault in %s", c.f, err, c.field)
		}
	}
	for in, want := range map[int]int{0: 20, -5: 20, 7: 7, 100: 100, 101: 100} {
		if got := catalog.Limit(in); got != want {
			t.Errorf("Limit(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestCategories(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	tea := mustCategory(t, svc, "Tea")
	green, err := svc.CreateCategory(ctx, catalog.NewCategory{Name: "Green", ParentID: tea.ID})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in    catalog.NewCategory
		field string
		code  string
	}{
		{catalog.NewCategory{Name: ""}, "name", "required"},
		{catalog.NewCategory{Name: strings.Repeat("x", catalog.MaxCategoryName+1)}, "name", "length_out_of_range"},
		{catalog.NewCategory{Name: "x", ParentID: ids.New()}, "parent_id", "category_not_found"},
		{catalog.NewCategory{Name: "x", ParentID: green.ID}, "parent_id", "category_too_deep"},
	}
	for _, c := range cases {
		_, err := svc.CreateCategory(ctx, c.in)
		if fs := errs.Fields(err); len(fs) != 1 || fs[0].Field != c.field || fs[0].Code != c.code {
			t.Errorf("CreateCategory(%+v) err = %v, want %s in %s", c.in, err, c.code, c.field)
		}
	}
}
