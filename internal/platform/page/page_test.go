package page_test

import (
	"testing"

	"github.com/siyu-commerce/siyu/internal/platform/page"
)

func TestSize(t *testing.T) {
	for _, c := range []struct{ n, want int }{{-1, 20}, {0, 20}, {1, 1}, {99, 99}, {100, 100}, {101, 100}} {
		if got := page.Size(c.n, 20, 100); got != c.want {
			t.Errorf("Size(%d, 20, 100) = %d, want %d", c.n, got, c.want)
		}
	}
}
