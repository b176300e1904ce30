package sqlite_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/siyu-commerce/siyu/internal/platform/seal"
	"github.com/siyu-commerce/siyu/internal/store/sqlite"
	"github.com/siyu-commerce/siyu/internal/store/storetest"
)

var _ storetest.Engine = (*sqlite.Store)(nil)

// Open returns a fresh migrated store in a temporary file.
func open(t testing.TB) storetest.Engine {
	t.Helper()
	sealer, err := seal.New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "siyu.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

// TestOpenOddPaths: a path holding the characters a file: URI gives a
// meaning ('?', '#', '%') opens that very file, not a truncated name that
// another test might share.
func TestOpenOddPaths(t *testing.T) {
	sealer, err := seal.New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "a#b?c%d")
	path := filepath.Join(dir, "siyu.db")
	s, err := sqlite.Open(path, sealer)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at %s: %v", path, err)
	}
}
