package supply

import (
	"testing"

	"github.com/siyu-commerce/siyu/internal/errs"
)

func TestNewPlan(t *testing.T) {
	cases := []struct {
		expected, first, flexible, uncommitted int64
	}{
		{1, 1, 0, 0},      // 0.6 -> 1; 0.9 -> 1: all of it now
		{2, 2, 0, 0},      // 1.2 -> 2; 1.8 -> 2
		{3, 2, 1, 0},      // 1.8 -> 2; 2.7 -> 3
		{7, 5, 2, 0},      // 4.2 -> 5; 6.3 -> 7 (rounding each up alone would commit 8)
		{10, 6, 3, 1},     // exact
		{11, 7, 3, 1},     // 6.6 -> 7; 9.9 -> 10
		{100, 60, 30, 10}, // exact
		{1001, 601, 300, 100},
		{MaxExpected, 60_000_000, 30_000_000, 10_000_000},
	}
	for _, c := range cases {
		p, err := NewPlan(c.expected)
		if err != nil {
			t.Fatalf("NewPlan(%d): %v", c.expected, err)
		}
		if p.FirstBatch != c.first || p.FlexibleCapacity != c.flexible || p.Uncommitted != c.uncommitted {
			t.Errorf("NewPlan(%d) = %d + %d + %d, want %d + %d + %d", c.expected,
				p.FirstBatch, p.FlexibleCapacity, p.Uncommitted, c.first, c.flexible, c.uncommitted)
		}
		if sum := p.FirstBatch + p.FlexibleCapacity + p.Uncommitted; sum != c.expected {
			t.Errorf("NewPlan(%d) parts add up to %d", c.expected, sum)
		}
	}
	for _, bad := range []int64{0, -1, MaxExpected + 1} {
		if _, err := NewPlan(bad); !errs.Is(err, "out_of_range") {
			t.Errorf("NewPlan(%d) = %v, want out_of_range", bad, err)
		}
	}
}

// TestNewPlanBounds checks every demand up to 10,000: the first batch is
// never under 60% nor a whole unit over it, the two committed parts never
// under 90% nor past the demand.
func TestNewPlanBounds(t *testing.T) {
	for n := int64(1); n <= 10_000; n++ {
		p, _ := NewPlan(n)
		if p.FirstBatch*10 < n*6 || (p.FirstBatch-1)*10 >= n*6 {
			t.Fatalf("NewPlan(%d): first batch %d is not 60%% rounded up", n, p.FirstBatch)
		}
		both := p.FirstBatch + p.FlexibleCapacity
		if both*10 < n*9 || both > n || p.FlexibleCapacity < 0 {
			t.Fatalf("NewPlan(%d): %d committed", n, both)
		}
	}
}
