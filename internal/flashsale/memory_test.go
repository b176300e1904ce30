package flashsale_test

import (
	"testing"

	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/flashsale/reservertest"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
)

func TestMemoryConformance(t *testing.T) {
	reservertest.Run(t, reservertest.Engine{
		New: func(t *testing.T, c clock.Clock) flashsale.Reserver { return flashsale.NewMemory(c) },
		// In process, losing the state means the process restarted: a new,
		// empty Reserver.
		Wipe: func(t *testing.T, _ flashsale.Reserver, c clock.Clock) flashsale.Reserver {
			return flashsale.NewMemory(c)
		},
	})
}
