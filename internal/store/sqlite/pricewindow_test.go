package sqlite_test

import (
	"context"
	"testing"

	"github.com/siyu-commerce/siyu/internal/store/sqlite"
	"github.com/siyu-commerce/siyu/internal/store/storetest"
)

// TestPriceRecordSeeds runs migration 0021's seeding statements again over
// orders and SKUs in place and checks what they write.
func TestPriceRecordSeeds(t *testing.T) {
	s := open(t).(*sqlite.Store)
	storetest.PriceSeeds(t, s, func(ctx context.Context, q string) error { return sqlite.ExecRaw(s, ctx, q) },
		"migrations/0021_price_windows.sql")
}
