package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func init() { register("inventory", testInventory) }

func testInventory(t *testing.T, open Opener) {
	ctx := context.Background()
	// One store for all: each case has its own SKUs.
	s := open(t)

	t.Run("adjust, levels and journal", func(t *testing.T) {
		cat := catalogCategory(t, s, "", "Tea", 0)
		p := catalogProduct(t, s, cat.ID, "Longjing", catalog.OnSale, catalogEpoch, 9900, 18800)
		a, b := p.SKUs[0].ID, p.SKUs[1].ID
		steps := []struct {
			sku, loc string
			delta    int64
			reason   inventory.Reason
			want     inventory.Level
			code     string // the error's code, if refused
		}{
			{a, inventory.Online, 20, inventory.Receive, inventory.Level{SKUID: a, Location: inventory.Online, OnHand: 20}, ""},
			{a, inventory.Online, 5, inventory.Receive, inventory.Level{SKUID: a, Location: inventory.Online, OnHand: 25}, ""},
			{a, inventory.Online, -24, inventory.Adjust, inventory.Level{SKUID: a, Location: inventory.Online, OnHand: 1}, ""},
			{a, inventory.Online, -2, inventory.Adjust, inventory.Level{}, "stock_below_reserved"},
			{a, inventory.Online, -1, inventory.Adjust, inventory.Level{SKUID: a, Location: inventory.Online, OnHand: 0}, ""},
			{a, "shanghai-01", 3, inventory.Receive, inventory.Level{SKUID: a, Location: "shanghai-01", OnHand: 3}, ""},
			{b, inventory.Online, -1, inventory.Adjust, inventory.Level{}, "stock_below_reserved"}, // no level yet: nothing on hand
			{ids.New(), inventory.Online, 1, inventory.Receive, inventory.Level{}, "sku_not_found"},
			{ids.New(), inventory.Online, -1, inventory.Adjust, inventory.Level{}, "sku_not_found"},
			{"not-a-uuid", inventory.Online, 1, inventory.Receive, inventory.Level{}, "sku_not_found"},
		}
		var journalled []inventory.Movement
		for i, st := range steps {
			m := inventory.Movement{ID: ids.New(), SKUID: st.sku, Location: st.loc, OnHandDelta: st.delta,
				Reason: st.reason, Ref: "step", At: catalogEpoch.Add(time.Duration(i) * time.Second)}
			got, err := s.AdjustStock(ctx, m)
			if st.code != "" {
				if !errs.Is(err, st.code) {
					t.Fatalf("step %d: err = %v, want %s", i, err, st.code)
				}
				continue
			}
			failOn(t, err)
			if got != st.want {
				t.Fatalf("step %d: level = %+v, want %+v", i, got, st.want)
			}
			if st.sku == a {
				journalled = append([]inventory.Movement{m}, journalled...)
			}
		}

		levels, err := s.Levels(ctx, []string{a, b, ids.New()})
		failOn(t, err)
		want := []inventory.Level{{SKUID: a, Location: inventory.Online}, {SKUID: a, Location: "shanghai-01", OnHand: 3}}
		if !reflect.DeepEqual(levels, want) {
			t.Fatalf("Levels = %+v, want %+v", levels, want)
		}

		// Refused adjustments leave no line in the journal.
		journal, err := s.Journal(ctx, a, 0)
		failOn(t, err)
		if !reflect.DeepEqual(journal, journalled) {
			t.Fatalf("Journal =\n%+v\nwant\n%+v", journal, journalled)
		}
		journal, err = s.Journal(ctx, a, 2)
		failOn(t, err)
		if !reflect.DeepEqual(journal, journalled[:2]) {
			t.Fatalf("Journal limit 2 = %+v, want %+v", journal, journalled[:2])
		}
		if journal, err := s.Journal(ctx, b, 10); err != nil || len(journal) != 0 {
			t.Fatalf("Journal of a SKU never moved = %+v, %v; want empty", journal, err)
		}
	})

	t.Run("a count correction leaves reserved units alone", func(t *testing.T) {
		cat := catalogCategory(t, s, "", "Tea", 0)
		p := catalogProduct(t, s, cat.ID, "Reserved tea", catalog.OnSale, catalogEpoch, 100)
		sku := p.SKUs[0].ID
		adjust := func(delta int64) (inventory.Level, error) {
			return s.AdjustStock(ctx, inventory.Movement{SKUID: sku, Location: inventory.Online, OnHandDelta: delta,
				Reason: inventory.Adjust, At: catalogEpoch})
		}
		_, err := adjust(5)
		failOn(t, err)
		// Units are reserved the way they really are: by placing an order.
		o := &order.Order{ID: ids.New(), BuyerID: ids.New(), Status: order.PendingPayment,
			Subtotal: 300, Total: 300, PayBy: catalogEpoch.Add(time.Hour), CreatedAt: catalogEpoch, UpdatedAt: catalogEpoch,
			Lines: []order.Line{{ID: ids.New(), SKUID: sku, ProductID: p.ID, Title: p.Title, Spec: "0",
				Qty: 3, ListPrice: 200, SalePrice: 100, Amount: 300}}}
		failOn(t, s.CreateOrder(ctx, o, nil, nil))

		if _, err := adjust(-3); !errs.Is(err, "stock_below_reserved") {
			t.Fatalf("taking 3 of 5 with 3 reserved: err = %v, want stock_below_reserved", err)
		}
		lv, err := adjust(-2)
		failOn(t, err)
		if want := (inventory.Level{SKUID: sku, Location: inventory.Online, OnHand: 3, Reserved: 3}); lv != want {
			t.Fatalf("level = %+v, want %+v", lv, want)
		}
		if _, err := adjust(-1); !errs.Is(err, "stock_below_reserved") {
			t.Fatalf("taking a reserved unit: err = %v, want stock_below_reserved", err)
		}
		got, err := s.SKUs(ctx, []string{sku})
		failOn(t, err)
		if got[sku].SKU.Available != 0 {
			t.Fatalf("available = %d, want 0 (all on hand is reserved)", got[sku].SKU.Available)
		}
	})

	t.Run("concurrent takes never go below what is reserved", func(t *testing.T) {
		cat := catalogCategory(t, s, "", "Tea", 0)
		sku := catalogProduct(t, s, cat.ID, "Flash sale tea", catalog.OnSale, catalogEpoch, 100).SKUs[0].ID
		_, err := s.AdjustStock(ctx, inventory.Movement{SKUID: sku, Location: inventory.Online, OnHandDelta: 20,
			Reason: inventory.Receive, At: catalogEpoch})
		failOn(t, err)

		const workers = 50
		results := concurrently(workers, func(int) error {
			_, err := s.AdjustStock(ctx, inventory.Movement{SKUID: sku, Location: inventory.Online, OnHandDelta: -1,
				Reason: inventory.Adjust, At: catalogEpoch.Add(time.Second)})
			return err
		})
		wantOutcomes(t, results, map[string]int{"": 20, "stock_below_reserved": workers - 20})
		levels, err := s.Levels(ctx, []string{sku})
		failOn(t, err)
		if len(levels) != 1 || levels[0].OnHand != 0 {
			t.Fatalf("levels after the rush = %+v, want on hand 0", levels)
		}
		journal, err := s.Journal(ctx, sku, 100)
		failOn(t, err)
		if len(journal) != 21 {
			t.Fatalf("journal has %d lines, want 21 (one receipt, twenty takes)", len(journal))
		}
	})
}
