package membership

import (
	"context"
	"testing"

	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

type growthCase struct {
	growth int64
	want   string
}

func (c growthCase) growthFen() money.Fen { return money.Fen(c.growth) }

func TestTierFor(t *testing.T) {
	p := DefaultProgram
	for _, tc := range []growthCase{
		{0, "member"}, {99999, "member"}, {100000, "silver"}, {499999, "silver"}, {500000, "gold"}, {1 << 40, "gold"},
	} {
		if got := p.TierFor(tc.growthFen()).Code; got != tc.want {
			t.Errorf("TierFor(%d) = %s, want %s", tc.growth, got, tc.want)
		}
	}
	if p.Rank("gold") != 2 || p.Rank("gone") != -1 {
		t.Fatal("rank")
	}
}

// TestMemberStep: the tier's rate comes off the eligible lines only, split
// to the fen, and free shipping waives the fee.
func TestMemberStep(t *testing.T) {
	pl, err := pricing.New(pricing.Sale{}, pricing.MemberStep{}, pricing.Shipping{Fee: 800})
	if err != nil {
		t.Fatal(err)
	}
	lines := []pricing.Line{{SKUID: "a", Qty: 1, ListPrice: 2999, SalePrice: 2999}, {SKUID: "b", Qty: 1, ListPrice: 1000, SalePrice: 1000}}
	q, err := pl.PriceWith(context.Background(), lines, pricing.Extra{Member: &pricing.Member{Ref: "member:x", Rate: 1000,
		SKUs: map[string]bool{"a": true}, FreeShipping: true}})
	if err != nil {
		t.Fatal(err)
	}
	if q.Lines[0].Amount != 2999-300 || q.Lines[1].Amount != 1000 || q.Shipping != 0 || q.Total != 2699+1000 {
		t.Fatalf("quote: %+v", q)
	}
}
