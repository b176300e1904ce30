package presale

import (
	"slices"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
)

func TestTerms(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	ends := t0.Add(72 * time.Hour)
	bs, be := ends, ends.Add(48*time.Hour)
	later := t0.Add(24 * time.Hour)
	skus := map[string]catalog.SKUWithProduct{"s1": {SKU: catalog.SKU{ID: "s1", ListPrice: 12900, SalePrice: 11900}}}
	good := func() ActivityInput {
		return ActivityInput{Title: "预售", Rules: "规则", Mode: Deposit, StartsAt: t0, EndsAt: ends,
			BalanceStartsAt: &bs, BalanceEndsAt: &be, ShipsBy: be.Add(24 * time.Hour),
			Items: []ItemInput{{SKUID: "s1", Quota: 10, Deposit: 1900, Steps: []Step{{FromUnit: 1, Price: 9900}, {FromUnit: 5, Price: 10900}}}}}
	}
	cases := []struct {
		name   string
		change func(*ActivityInput)
		fields []string
	}{
		{"good", func(*ActivityInput) {}, nil},
		{"no title, bad mode", func(in *ActivityInput) { in.Title, in.Mode = " ", "later" }, []string{"title", "mode"}},
		{"balance before the selling ends", func(in *ActivityInput) { early := ends.Add(-time.Hour); in.BalanceStartsAt = &early },
			[]string{"balance_starts_at"}},
		{"no balance window", func(in *ActivityInput) { in.BalanceStartsAt, in.BalanceEndsAt = nil, nil },
			[]string{"balance_starts_at", "balance_ends_at"}},
		{"full mode with a balance and a deposit", func(in *ActivityInput) { in.Mode = Full },
			[]string{"balance_starts_at", "items[0].deposit"}},
		{"ships before the balance ends", func(in *ActivityInput) { in.ShipsBy = bs }, []string{"ships_by"}},
		{"steps out of order, over the list price", func(in *ActivityInput) {
			in.Items[0].Steps = []Step{{FromUnit: 2, Price: 9900}, {FromUnit: 2, Price: 13000}}
		}, []string{"items[0].steps[0].from_unit", "items[0].steps[1].price", "items[0].steps[1].from_unit"}},
		{"a step past the quota", func(in *ActivityInput) { in.Items[0].Steps[1].FromUnit = 11 }, []string{"items[0].steps[1].from_unit"}},
		{"deposit at the lowest price", func(in *ActivityInput) { in.Items[0].Deposit = 9900 }, []string{"items[0].deposit"}},
		{"unknown and twice the SKU", func(in *ActivityInput) {
			in.Items = append(in.Items, in.Items[0], ItemInput{SKUID: "nope", Quota: 1, Deposit: 1, Steps: []Step{{FromUnit: 1, Price: 10}}})
		}, []string{"items[1].sku_id", "items[2].sku_id"}},
		{"by time: steps by time", func(in *ActivityInput) {
			in.Basis = ByTime
			in.Items[0].Steps = []Step{{FromTime: &t0, Price: 9900}, {FromTime: &later, Price: 10900}}
		}, nil},
		{"by time: a unit step, a late step", func(in *ActivityInput) {
			in.Basis = ByTime
			late := ends
			in.Items[0].Steps = []Step{{FromTime: &t0, FromUnit: 1, Price: 9900}, {FromTime: &late, Price: 10900}}
		}, []string{"items[0].steps[0].from_unit", "items[0].steps[1].from_time"}},
		{"limits out of range", func(in *ActivityInput) { n := 0; in.PerBuyerLimit, in.MaxDepth = &n, &n },
			[]string{"per_buyer_limit", "max_depth"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := good()
			c.change(&in)
			a, err := terms(in, skus)
			var got []string
			for _, e := range errs.Fields(err) {
				got = append(got, e.Field)
			}
			slices.Sort(got)
			want := slices.Clone(c.fields)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("fields %v (%v); want %v", got, err, want)
			}
			if err == nil && (a.PerBuyerLimit != DefaultBuyerLimit || a.Basis == "") {
				t.Fatalf("defaults: %+v", a)
			}
		})
	}
}
