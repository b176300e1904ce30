package storetest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/cart"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func init() { register("cart", testCart) }

func testCart(t *testing.T, open Opener) {
	ctx := context.Background()
	// One store for all: each case has its own buyer and SKUs.
	s := open(t)
	// cartSKUs stores one product with n SKUs and returns their ids.
	cartSKUs := func(t *testing.T, n int) []string {
		cat := catalogCategory(t, s, "", "Tea", 0)
		prices := make([]money.Fen, n)
		for i := range prices {
			prices[i] = money.Fen(100 + i)
		}
		p := catalogProduct(t, s, cat.ID, "Tea", catalog.OnSale, catalogEpoch, prices...)
		out := make([]string, n)
		for i, sku := range p.SKUs {
			out[i] = sku.ID
		}
		return out
	}
	at := func(min int) time.Time { return catalogEpoch.Add(time.Duration(min) * time.Minute) }
	lines := func(t *testing.T, buyer string) []cart.Line {
		t.Helper()
		ls, err := s.CartLines(ctx, buyer)
		failOn(t, err)
		return ls
	}

	t.Run("add, put and remove", func(t *testing.T) {
		skus := cartSKUs(t, 3)
		buyer, other := ids.New(), ids.New()

		got, err := s.AddCartQty(ctx, buyer, cart.Line{SKUID: skus[0], Qty: 2, SeenPrice: 100, AddedAt: at(1)})
		failOn(t, err)
		if want := (cart.Line{SKUID: skus[0], Qty: 2, SeenPrice: 100, AddedAt: at(1)}); got != want {
			t.Fatalf("first add = %+v, want %+v", got, want)
		}
		// A second add sums the quantities and records the price seen now;
		// the line keeps its place in the cart.
		got, err = s.AddCartQty(ctx, buyer, cart.Line{SKUID: skus[0], Qty: 3, SeenPrice: 90, AddedAt: at(5)})
		failOn(t, err)
		if want := (cart.Line{SKUID: skus[0], Qty: 5, SeenPrice: 90, AddedAt: at(1)}); got != want {
			t.Fatalf("second add = %+v, want %+v", got, want)
		}
		failOn(t, s.PutCartLine(ctx, buyer, cart.Line{SKUID: skus[1], Qty: 7, SeenPrice: 101, AddedAt: at(2)}))
		failOn(t, s.PutCartLine(ctx, other, cart.Line{SKUID: skus[1], Qty: 1, SeenPrice: 101, AddedAt: at(2)}))

		want := []cart.Line{ // newest first
			{SKUID: skus[1], Qty: 7, SeenPrice: 101, AddedAt: at(2)},
			{SKUID: skus[0], Qty: 5, SeenPrice: 90, AddedAt: at(1)},
		}
		if got := lines(t, buyer); !reflect.DeepEqual(got, want) {
			t.Fatalf("CartLines = %+v, want %+v", got, want)
		}

		// Put replaces the line whole.
		failOn(t, s.PutCartLine(ctx, buyer, cart.Line{SKUID: skus[1], Qty: 1, SeenPrice: 95, AddedAt: at(2)}))
		want[0] = cart.Line{SKUID: skus[1], Qty: 1, SeenPrice: 95, AddedAt: at(2)}
		if got := lines(t, buyer); !reflect.DeepEqual(got, want) {
			t.Fatalf("after put: CartLines = %+v, want %+v", got, want)
		}

		failOn(t, s.RemoveCartLines(ctx, buyer, []string{skus[1], skus[2], ids.New()}))
		if got := lines(t, buyer); !reflect.DeepEqual(got, want[1:]) {
			t.Fatalf("after remove: CartLines = %+v, want %+v", got, want[1:])
		}
		if got := lines(t, other); len(got) != 1 {
			t.Fatalf("another buyer's cart changed: %+v", got)
		}
		failOn(t, s.RemoveCartLines(ctx, buyer, nil))
		if got := lines(t, ids.New()); got == nil || len(got) != 0 {
			t.Fatalf("an empty cart = %#v, want an empty, non-nil slice", got)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		skus := cartSKUs(t, 2)
		buyer := ids.New()
		_, err := s.AddCartQty(ctx, buyer, cart.Line{SKUID: skus[0], Qty: 98, SeenPrice: 100, AddedAt: at(1)})
		failOn(t, err)
		cases := []struct {
			name string
			do   func() error
			code string
		}{
			{"add past the line's limit", func() error {
				_, err := s.AddCartQty(ctx, buyer, cart.Line{SKUID: skus[0], Qty: 2, SeenPrice: 100, AddedAt: at(2)})
				return err
			}, "qty_out_of_range"},
			{"add more than a line holds", func() error {
				_, err := s.AddCartQty(ctx, buyer, cart.Line{SKUID: skus[1], Qty: cart.MaxQty + 1, SeenPrice: 100, AddedAt: at(2)})
				return err
			}, "qty_out_of_range"},
			{"add nothing", func() error {
				_, err := s.AddCartQty(ctx, buyer, cart.Line{SKUID: skus[1], Qty: 0, SeenPrice: 100, AddedAt: at(2)})
				return err
			}, "qty_out_of_range"},
			{"put too many", func() error {
				return s.PutCartLine(ctx, buyer, cart.Line{SKUID: skus[0], Qty: cart.MaxQty + 1, SeenPrice: 100, AddedAt: at(2)})
			}, "qty_out_of_range"},
			{"put none", func() error {
				return s.PutCartLine(ctx, buyer, cart.Line{SKUID: skus[0], Qty: 0, SeenPrice: 100, AddedAt: at(2)})
			}, "qty_out_of_range"},
			{"add an unknown SKU", func() error {
				_, err := s.AddCartQty(ctx, buyer, cart.Line{SKUID: ids.New(), Qty: 1, SeenPrice: 100, AddedAt: at(2)})
				return err
			}, "sku_not_found"},
			{"put an unknown SKU", func() error {
				return s.PutCartLine(ctx, buyer, cart.Line{SKUID: ids.New(), Qty: 1, SeenPrice: 100, AddedAt: at(2)})
			}, "sku_not_found"},
			{"put a malformed SKU id", func() error {
				return s.PutCartLine(ctx, buyer, cart.Line{SKUID: "nope", Qty: 1, SeenPrice: 100, AddedAt: at(2)})
			}, "sku_not_found"},
		}
		for _, c := range cases {
			if err := c.do(); !errs.Is(err, c.code) {
				t.Errorf("%s: err = %v, want %s", c.name, err, c.code)
			}
		}
		want := []cart.Line{{SKUID: skus[0], Qty: 98, SeenPrice: 100, AddedAt: at(1)}}
		if got := lines(t, buyer); !reflect.DeepEqual(got, want) {
			t.Fatalf("refusals changed the cart: %+v, want %+v", got, want)
		}
	})

	t.Run("a full cart takes no new line", func(t *testing.T) {
		skus := cartSKUs(t, cart.MaxLines+1)
		buyer := ids.New()
		for i, sku := range skus[:cart.MaxLines] {
			failOn(t, s.PutCartLine(ctx, buyer, cart.Line{SKUID: sku, Qty: 1, SeenPrice: 100, AddedAt: at(i)}))
		}
		last := skus[cart.MaxLines]
		if _, err := s.AddCartQty(ctx, buyer, cart.Line{SKUID: last, Qty: 1, SeenPrice: 100, AddedAt: at(99)}); !errs.Is(err, "cart_full") {
			t.Fatalf("add a line to a full cart: err = %v, want cart_full", err)
		}
		if err := s.PutCartLine(ctx, buyer, cart.Line{SKUID: last, Qty: 1, SeenPrice: 100, AddedAt: at(99)}); !errs.Is(err, "cart_full") {
			t.Fatalf("put a line in a full cart: err = %v, want cart_full", err)
		}
		// Lines already there still change.
		if _, err := s.AddCartQty(ctx, buyer, cart.Line{SKUID: skus[0], Qty: 1, SeenPrice: 100, AddedAt: at(99)}); err != nil {
			t.Fatalf("add to a line of a full cart: %v", err)
		}
		failOn(t, s.PutCartLine(ctx, buyer, cart.Line{SKUID: skus[1], Qty: 9, SeenPrice: 100, AddedAt: at(1)}))
		if n := len(lines(t, buyer)); n != cart.MaxLines {
			t.Fatalf("cart has %d lines, want %d", n, cart.MaxLines)
		}
	})

	t.Run("concurrent adds to one line stop at the line's limit", func(t *testing.T) {
		sku := cartSKUs(t, 1)[0]
		buyer := ids.New()
		const workers, each = 20, 10
		results := concurrently(workers, func(int) error {
			_, err := s.AddCartQty(ctx, buyer, cart.Line{SKUID: sku, Qty: each, SeenPrice: 100, AddedAt: at(1)})
			return err
		})
		wantOutcomes(t, results, map[string]int{"": cart.MaxQty / each, "qty_out_of_range": workers - cart.MaxQty/each})
		got := lines(t, buyer)
		if len(got) != 1 || got[0].Qty != cart.MaxQty/each*each {
			t.Fatalf("line after the rush = %+v, want qty %d", got, cart.MaxQty/each*each)
		}
	})

	t.Run("concurrent new lines stop at the cart's limit", func(t *testing.T) {
		const have, workers = cart.MaxLines - 5, 20
		skus := cartSKUs(t, have+workers)
		buyer := ids.New()
		for i, sku := range skus[:have] {
			failOn(t, s.PutCartLine(ctx, buyer, cart.Line{SKUID: sku, Qty: 1, SeenPrice: 100, AddedAt: at(i)}))
		}
		results := concurrently(workers, func(i int) error {
			l := cart.Line{SKUID: skus[have+i], Qty: 1, SeenPrice: 100, AddedAt: at(100)}
			if i%2 == 0 {
				return s.PutCartLine(ctx, buyer, l)
			}
			_, err := s.AddCartQty(ctx, buyer, l)
			return err
		})
		wantOutcomes(t, results, map[string]int{"": 5, "cart_full": workers - 5})
		if n := len(lines(t, buyer)); n != cart.MaxLines {
			t.Fatalf("cart has %d lines, want %d", n, cart.MaxLines)
		}
	})
}

// concurrently runs fn in n goroutines at once and returns their errors by index.
func concurrently(n int, fn func(i int) error) []error {
	out := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

// wantOutcomes counts results by error code ("" for success) and compares
// the counts; an error without a code is reported as it is.
func wantOutcomes(t *testing.T, results []error, want map[string]int) {
	t.Helper()
	got := map[string]int{}
	for _, err := range results {
		if err == nil {
			got[""]++
			continue
		}
		e, ok := errs.As(err)
		if _, expected := want[e.Code]; !ok || !expected {
			t.Fatalf("unexpected error: %v", err)
		}
		got[e.Code]++
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("outcomes = %v, want %v", got, want)
		}
	}
}
