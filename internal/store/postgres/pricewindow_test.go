package postgres_test

import (
	"context"
	"testing"

	"github.com/siyu-commerce/siyu/internal/store/postgres"
	"github.com/siyu-commerce/siyu/internal/store/storetest"
)

// TestPriceRecordSeeds runs migration 0021's seeding statements again over
// orders and SKUs in place and checks what they write.
func TestPriceRecordSeeds(t *testing.T) {
	s := open(t).(*postgres.Store)
	storetest.PriceSeeds(t, s, func(ctx context.Context, q string) error { return postgres.ExecRaw(s, ctx, q) },
		"migrations/0021_price_windows.sql")
}
