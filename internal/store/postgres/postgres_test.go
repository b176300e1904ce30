package postgres_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/siyu-commerce/siyu/internal/platform/seal"
	"github.com/siyu-commerce/siyu/internal/store/postgres"
	"github.com/siyu-commerce/siyu/internal/store/postgres/pgtest"
	"github.com/siyu-commerce/siyu/internal/store/storetest"
)

var _ storetest.Engine = (*postgres.Store)(nil)

// open returns a fresh migrated store on a database of its own.
func open(t testing.TB) storetest.Engine {
	t.Helper()
	sealer, err := seal.New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.NewDatabase(t), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }
