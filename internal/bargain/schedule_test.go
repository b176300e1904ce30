package bargain_test

import (
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/money"
)

func TestScheduleExamples(t *testing.T) {
	cases := []struct {
		from, floor money.Fen
		n           int
		want        []money.Fen
	}{
		{1000, 0, 1, []money.Fen{1000}},
		{3, 0, 3, []money.Fen{1, 1, 1}},
		{10, 0, 3, []money.Fen{6, 3, 1}},
		{1000, 0, 3, []money.Fen{642, 286, 72}},
		{5999, 1999, 5, []money.Fen{1817, 1163, 655, 291, 74}},
	}
	for _, c := range cases {
		got := bargain.Schedule(c.from, c.floor, c.n)
		if !slices.Equal(got, c.want) {
			t.Errorf("Schedule(%d, %d, %d) = %v, want %v", c.from, c.floor, c.n, got, c.want)
		}
	}
	if got := bargain.Schedule(10, 20, 3); got != nil {
		t.Errorf("a floor above the start: %v", got)
	}
	if got := bargain.Schedule(10, 0, 0); got != nil {
		t.Errorf("no helpers: %v", got)
	}
}

// TestScheduleProperties: for any start, floor and number of helpers with
// at least a fen a cut, the schedule has n cuts that add up exactly to the
// way down, each at least 1 fen, never growing, and the same every time
// (DOMAIN.md, "Bargain fairness": deterministic and disclosed).
func TestScheduleProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, bargain.MaxHelpers).Draw(t, "n")
		floor := money.Fen(rapid.Int64Range(0, int64(bargain.MaxPrice)-int64(n)).Draw(t, "floor"))
		from := money.Fen(rapid.Int64Range(int64(floor)+int64(n), int64(bargain.MaxPrice)).Draw(t, "from"))
		cuts := bargain.Schedule(from, floor, n)
		if len(cuts) != n {
			t.Fatalf("%d cuts, want %d", len(cuts), n)
		}
		if sum := money.Sum(cuts); sum != from-floor {
			t.Fatalf("cuts %v add up to %d, want %d", cuts, sum, from-floor)
		}
		for i, c := range cuts {
			if c < 1 {
				t.Fatalf("cut %d is %d fen: %v", i, c, cuts)
			}
			if i > 0 && c > cuts[i-1] {
				t.Fatalf("cut %d (%d) is larger than cut %d (%d)", i, c, i-1, cuts[i-1])
			}
		}
		if again := bargain.Schedule(from, floor, n); !slices.Equal(again, cuts) {
			t.Fatalf("not deterministic: %v then %v", cuts, again)
		}
	})
}
