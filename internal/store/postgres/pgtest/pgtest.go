// Package pgtest gives a test its own PostgreSQL database: created empty from
// SIYU_TEST_DATABASE_URL, dropped when the test ends, so tests never see each
// other's data.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/testenv"
)

// NewDatabase creates a fresh database and returns its URL. It skips the test
// when SIYU_TEST_DATABASE_URL is unset (fails under CI).
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := testenv.Need(t, testenv.PostgresVar)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect %s: %v", base, err)
	}
	defer admin.Close(ctx)
	name := "siyu_test_" + strings.ReplaceAll(ids.Token(8), "-", "")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %s is not a URL: %v", testenv.PostgresVar, err)
	}
	u.Path = "/" + name
	return fmt.Sprint(u)
}
