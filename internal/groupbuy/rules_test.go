package groupbuy

import (
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/compliance"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

var t0 = time.Date(2031, 3, 1, 9, 0, 0, 0, time.UTC)

// shop is a catalogue of two SKUs on sale, 1999 and 2999 fen.
func shop() (a, b string, skus map[string]catalog.SKUWithProduct) {
	a, b = ids.New(), ids.New()
	on := catalog.Product{Status: catalog.OnSale}
	return a, b, map[string]catalog.SKUWithProduct{
		a: {SKU: catalog.SKU{ID: a, SalePrice: 1999}, Product: on},
		b: {SKU: catalog.SKU{ID: b, SalePrice: 2999}, Product: on},
	}
}

func goodInput(a, b string) ActivityInput {
	return ActivityInput{
		Title: "Longjing, three friends", Rules: "三人成团，24 小时内未成团全额退款。Teams of three; refunded in full if unfilled.",
		ShareNotice: "好友参与活动可能需要付费", StartsAt: t0, EndsAt: t0.Add(5 * 24 * time.Hour), TeamSize: 3,
		Leader: Leader{Kind: LeaderPrice, Price: 1500},
		Items: []ItemInput{
			{SKUID: a, Quota: 100, Tiers: []Tier{{2, 1799}, {3, 1599}}},
			{SKUID: b, Quota: 50, Tiers: []Tier{{3, 2599}}},
		},
	}
}

func TestParseActivity(t *testing.T) {
	skuA, skuB, skus := shop()
	got, err := parseActivity(goodInput(skuA, skuB), skus)
	if err != nil {
		t.Fatal(err)
	}
	if got.TeamHours != DefaultTeamHours || got.PerBuyerLimit != 1 || got.MaxDepth != 3 || len(got.Items) != 2 {
		t.Fatalf("defaults: %+v", got)
	}

	cases := []struct {
		name   string
		change func(in *ActivityInput)
		fields []string
	}{
		{"no title", func(in *ActivityInput) { in.Title = " " }, []string{"title"}},
		{"no window", func(in *ActivityInput) { in.StartsAt, in.EndsAt = time.Time{}, time.Time{} }, []string{"starts_at"}},
		{"end before start", func(in *ActivityInput) { in.EndsAt = t0.Add(-time.Hour) }, []string{"ends_at"}},
		{"team of 6", func(in *ActivityInput) { in.TeamSize = 6 }, []string{"team_size"}},
		{"team of 1", func(in *ActivityInput) { in.TeamSize = 1 }, []string{"team_size"}},
		{"73 hours", func(in *ActivityInput) { in.TeamHours = 73 }, []string{"team_hours"}},
		{"team longer than the activity", func(in *ActivityInput) { in.EndsAt = t0.Add(10 * time.Hour) }, []string{"team_hours"}},
		{"limit 0 is the default, -1 is not", func(in *ActivityInput) { in.PerBuyerLimit = -1 }, []string{"per_buyer_limit"}},
		{"depth 10", func(in *ActivityInput) { in.MaxDepth = 10 }, []string{"max_depth"}},
		{"threshold at the team size", func(in *ActivityInput) { in.SuccessThreshold = 3 }, []string{"success_threshold"}},
		{"threshold below every item's smallest tier", func(in *ActivityInput) { in.SuccessThreshold = 2 }, []string{"success_threshold"}},
		{"leader price at the top tier", func(in *ActivityInput) { in.Leader.Price = 1599 }, []string{"leader.price"}},
		{"leader price of 0", func(in *ActivityInput) { in.Leader.Price = 0 }, []string{"leader.price"}},
		{"free leader with a price", func(in *ActivityInput) { in.Leader.Kind = LeaderFree }, []string{"leader.price"}},
		{"unknown leader kind", func(in *ActivityInput) { in.Leader.Kind = "half" }, []string{"leader.kind"}},
		{"no items", func(in *ActivityInput) { in.Items = nil }, []string{"items"}},
		{"same SKU twice", func(in *ActivityInput) { in.Items[1].SKUID = in.Items[0].SKUID }, []string{"items[1].sku_id"}},
		{"unknown SKU", func(in *ActivityInput) { in.Items[1].SKUID = ids.New() }, []string{"items[1].sku_id"}},
		{"zero quota", func(in *ActivityInput) { in.Items[0].Quota = 0 }, []string{"items[0].quota"}},
		{"no tiers", func(in *ActivityInput) { in.Items[0].Tiers = nil }, []string{"items[0].tiers"}},
		{"top tier not the team size", func(in *ActivityInput) { in.Items[1].Tiers = []Tier{{2, 2599}} }, []string{"items[1].tiers[0].size"}},
		{"unsorted tiers", func(in *ActivityInput) { in.Items[0].Tiers = []Tier{{3, 1599}, {2, 1799}} },
			[]string{"items[0].tiers[1].size", "items[0].tiers[1].price", "items[0].tiers[1].size"}},
		{"price not falling", func(in *ActivityInput) { in.Items[0].Tiers = []Tier{{2, 1799}, {3, 1799}} }, []string{"items[0].tiers[1].price"}},
		{"tier at the sale price", func(in *ActivityInput) { in.Items[0].Tiers = []Tier{{2, 1999}, {3, 1599}} }, []string{"items[0].tiers[0].price"}},
		{"tier of 0 fen", func(in *ActivityInput) { in.Items[1].Tiers = []Tier{{3, 0}} }, []string{"items[1].tiers[0].price"}},
		{"everything at once", func(in *ActivityInput) { in.Title, in.TeamSize, in.Items = "", 9, nil },
			[]string{"title", "team_size", "items"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := goodInput(skuA, skuB)
			c.change(&in)
			_, err := parseActivity(in, skus)
			var got []string
			for _, e := range errs.Fields(err) {
				got = append(got, e.Field)
			}
			for _, f := range c.fields {
				if !slices.Contains(got, f) {
					t.Fatalf("fields %v; want %v among them (%v)", got, f, err)
				}
			}
		})
	}
}

func TestTierPricing(t *testing.T) {
	tiers := []Tier{{2, 900}, {4, 700}, {5, 600}}
	for n, want := range map[int]money.Fen{0: 900, 1: 900, 2: 900, 3: 900, 4: 700, 5: 600, 6: 600} {
		if got := TierPrice(tiers, n); got != want {
			t.Errorf("TierPrice(%d) = %s, want %s", n, got, want)
		}
	}
	for n, want := range map[int][2]int{1: {1, 3}, 2: {1, 3}, 3: {1, 3}, 4: {4, 4}, 5: {5, 5}} {
		if lo, hi := SizeRange(tiers, 5, n); lo != want[0] || hi != want[1] {
			t.Errorf("SizeRange(%d) = %d..%d, want %d..%d", n, lo, hi, want[0], want[1])
		}
	}
}

// TestTierPricingProperties: for any valid tiers, a bigger team never pays
// more, the full team pays the top tier, and SizeRange is exactly the
// sizes of one price.
func TestTierPricingProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		size := rapid.IntRange(MinTeamSize, MaxTeamSize).Draw(rt, "team size")
		var sizes []int
		for n := MinTeamSize; n < size; n++ {
			if rapid.Bool().Draw(rt, "tier at this size") {
				sizes = append(sizes, n)
			}
		}
		sizes = append(sizes, size)
		slices.Sort(sizes)
		price := money.Fen(rapid.Int64Range(int64(len(sizes)), 100000).Draw(rt, "top price"))
		tiers := make([]Tier, len(sizes))
		for i := len(sizes) - 1; i >= 0; i-- {
			tiers[i] = Tier{sizes[i], price}
			price += money.Fen(rapid.Int64Range(1, 1000).Draw(rt, "step"))
		}
		if got := TierPrice(tiers, size); got != tiers[len(tiers)-1].Price {
			rt.Fatalf("the full team pays %s, not the top tier %+v", got, tiers)
		}
		for n := 1; n <= size; n++ {
			if TierPrice(tiers, n) < TierPrice(tiers, n+1) {
				rt.Fatalf("size %d pays less than %d: %+v", n, n+1, tiers)
			}
			lo, hi := SizeRange(tiers, size, n)
			for m := 1; m <= size; m++ {
				same := TierPrice(tiers, m) == TierPrice(tiers, n)
				if in := m >= lo && m <= hi; in != same {
					rt.Fatalf("SizeRange(%d) = %d..%d, but size %d pays the same: %v (%+v)", n, lo, hi, m, same, tiers)
				}
			}
		}
	})
}

func TestLeaderAndFacts(t *testing.T) {
	skuA, skuB, skus := shop()
	a, err := parseActivity(goodInput(skuA, skuB), skus)
	if err != nil {
		t.Fatal(err)
	}
	itA, _ := a.Item(skuA)
	itB, _ := a.Item(skuB)
	if a.LeaderEntry(itA) != 1500 || a.LeaderFinal(1599) != 1500 || a.LeaderFinal(1400) != 1400 {
		t.Fatalf("leader price: entry %s", a.LeaderEntry(itA))
	}
	// Rewards: A 1599-1500 = 99 of 1999; B 2599-1500 = 1099 of 2999, the larger share.
	sale := map[string]money.Fen{skuA: 1999, skuB: 2999}
	if f := a.Facts(sale); f.Reward != 1099 || f.RegularPrice != 2999 {
		t.Fatalf("facts = %+v", f)
	}
	if r := compliance.Lint(a.Facts(sale)); r.Passed {
		t.Fatalf("a reward of 1099 on 2999 passes: %+v", r)
	}
	a.Leader = Leader{Kind: LeaderFree}
	if a.LeaderEntry(itB) != 2599 || a.LeaderFinal(2599) != 0 || a.Reward(itB) != 2599 {
		t.Fatal("free leader")
	}
	a.Leader = Leader{Kind: LeaderNone}
	if f := a.Facts(sale); f.Reward != 0 || !compliance.Lint(f).Passed {
		t.Fatalf("no leader benefit: %+v %+v", f, compliance.Lint(f))
	}
}

func TestJoinable(t *testing.T) {
	exp := t0.Add(time.Hour)
	for _, c := range []struct {
		team Team
		now  time.Time
		want error
	}{
		{Team{Status: TeamOpen, Capacity: 3, Taken: 2, ExpiresAt: &exp}, t0, nil},
		{Team{Status: TeamOpen, Capacity: 3, Taken: 3, ExpiresAt: &exp}, t0, ErrTeamFull},
		{Team{Status: TeamOpen, Capacity: 3, Taken: 2, ExpiresAt: &exp}, exp, ErrTeamClosed},
		{Team{Status: TeamPending, Capacity: 3, Taken: 1}, t0, ErrTeamNotOpen},
		{Team{Status: TeamFailed, Capacity: 3, Taken: 1, ExpiresAt: &exp}, t0, ErrTeamClosed},
	} {
		if got := c.team.Joinable(c.now); got != c.want {
			t.Errorf("%+v at %v: %v, want %v", c.team, c.now, got, c.want)
		}
	}
}
