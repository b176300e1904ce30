package money

import (
	"math/rand/v2"
	"testing"
)

func TestAllocate(t *testing.T) {
	cases := []struct {
		name    string
		total   Fen
		weights []Fen
		want    []Fen
	}{
		{"even", 300, []Fen{1, 1, 1}, []Fen{100, 100, 100}},
		{"remainder to largest", 100, []Fen{1, 1, 1}, []Fen{34, 33, 33}},
		{"proportional", 1000, []Fen{3000, 1000, 1000}, []Fen{600, 200, 200}},
		{"largest remainder wins", 10, []Fen{333, 333, 334}, []Fen{3, 3, 4}},
		{"zero weights split evenly", 5, []Fen{0, 0}, []Fen{3, 2}},
		{"zero total", 0, []Fen{5, 7}, []Fen{0, 0}},
		{"negative total", -100, []Fen{1, 1, 1}, []Fen{-34, -33, -33}},
		{"one part", 999, []Fen{42}, []Fen{999}},
		{"no parts", 999, nil, []Fen{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Allocate(c.total, c.weights)
			if len(got) != len(c.want) {
				t.Fatalf("len = %d, want %d", len(got), len(c.want))
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("Allocate(%d, %v) = %v, want %v", c.total, c.weights, got, c.want)
				}
			}
		})
	}
}

func TestAllocateAlwaysSumsToTotal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10000; i++ {
		n := 1 + r.IntN(8)
		w := make([]Fen, n)
		for j := range w {
			w[j] = Fen(r.IntN(100000))
		}
		total := Fen(r.IntN(1000000))
		parts := Allocate(total, w)
		if Sum(parts) != total {
			t.Fatalf("Allocate(%d, %v) = %v sums to %d", total, w, parts, Sum(parts))
		}
		for j, p := range parts {
			if p < 0 {
				t.Fatalf("negative part %d in %v", j, parts)
			}
		}
	}
}

func TestRate(t *testing.T) {
	cases := []struct {
		f    Fen
		bp   BP
		want Fen
	}{
		{10000, 800, 800},
		{999, 1500, 150}, // 149.85 -> 150
		{1001, 50, 5},    // 5.005 -> 5
		{1000, 5, 1},     // 0.5 -> 1 (half up)
		{-1000, 5, -1},   // -0.5 -> -1 (half away from zero)
		{12345, Whole, 12345},
	}
	for _, c := range cases {
		if got := c.f.Rate(c.bp); got != c.want {
			t.Errorf("%d.Rate(%d) = %d, want %d", c.f, c.bp, got, c.want)
		}
	}
}

func TestString(t *testing.T) {
	for f, want := range map[Fen]string{0: "0.00", 5: "0.05", 1234: "12.34", -250: "-2.50"} {
		if got := f.String(); got != want {
			t.Errorf("Fen(%d).String() = %q, want %q", f, got, want)
		}
	}
}
