package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/idempotency"
)

// TestHousekeeping: the daily job forgets old idempotency keys and keeps
// fresh ones, and schedules itself once a day however often it is asked to.
func TestHousekeeping(t *testing.T) {
	a := apptest.New(t, apptest.SQLite, nil)
	ctx := context.Background()
	old := idempotency.Record{Scope: "buyer:x", Key: "old", RequestHash: "h", CreatedAt: a.Clock.Now()}
	if _, _, err := a.Store.ClaimKey(ctx, old); err != nil {
		t.Fatal(err)
	}
	// Two replicas start the workers: one job for the day.
	for range 2 {
		wctx, cancel := context.WithCancel(ctx)
		cancel()
		a.RunWorkers(wctx)
	}
	a.Clock.Advance(48 * time.Hour)
	fresh := idempotency.Record{Scope: "buyer:x", Key: "fresh", RequestHash: "h", CreatedAt: a.Clock.Now()}
	if _, _, err := a.Store.ClaimKey(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	n, err := a.Jobs.RunOnce(ctx)
	if err != nil || n != 1 {
		t.Fatalf("ran %d housekeeping jobs (%v), want exactly 1", n, err)
	}
	if _, isNew, _ := a.Store.ClaimKey(ctx, old); !isNew {
		t.Fatal("a two-day-old idempotency key survived housekeeping")
	}
	if _, isNew, _ := a.Store.ClaimKey(ctx, fresh); isNew {
		t.Fatal("housekeeping forgot a fresh idempotency key")
	}
	// The run scheduled the next one, a day on.
	if n, _ := a.Jobs.RunOnce(ctx); n != 0 {
		t.Fatalf("%d jobs due right after housekeeping ran", n)
	}
	a.Clock.Advance(24 * time.Hour)
	if n, _ := a.Jobs.RunOnce(ctx); n != 1 {
		t.Fatalf("%d housekeeping jobs the next day, want 1", n)
	}
}
