package storetest

import (
	"context"
	"testing"
)

func init() { register("migrate", testMigrate) }

func testMigrate(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	n, err := s.Migrate(ctx)
	if err != nil || n != 0 {
		t.Fatalf("second Migrate applied %d, err %v; want 0, nil", n, err)
	}
	if p, err := s.Pending(ctx); err != nil || p != 0 {
		t.Fatalf("Pending = %d, %v; want 0", p, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}
