package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/audit"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func init() { register("audit", testAudit) }

func testAudit(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	alice, bob := ids.New(), ids.New()
	var want []audit.Entry
	for i := range 7 {
		actor := alice
		if i%3 == 0 {
			actor = bob
		}
		e := audit.Entry{ID: ids.New(), At: t0.Add(time.Duration(i) * time.Minute), ActorID: actor, Role: "operator",
			Action: "POST /admin/api/v1/orders/{id}/ship", Target: ids.New(), Status: 200, RequestID: "req"}
		if err := s.RecordAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
		want = append(want, e)
	}

	t.Run("newest first across pages, no gaps or repeats", func(t *testing.T) {
		var got []audit.Entry
		f := audit.Filter{Limit: 3}
		for {
			page, err := s.AuditEntries(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page.Entries...)
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
		if len(got) != len(want) {
			t.Fatalf("%d entries, want %d", len(got), len(want))
		}
		for i, e := range got {
			w := want[len(want)-1-i]
			if e.ID != w.ID || !e.At.Equal(w.At) || e.ActorID != w.ActorID || e.Action != w.Action || e.Target != w.Target || e.Status != w.Status {
				t.Fatalf("entry %d = %+v, want %+v", i, e, w)
			}
		}
	})
	t.Run("by operator", func(t *testing.T) {
		page, err := s.AuditEntries(ctx, audit.Filter{ActorID: bob})
		if err != nil || len(page.Entries) != 3 {
			t.Fatalf("bob's entries: %d, %v; want 3", len(page.Entries), err)
		}
		for _, e := range page.Entries {
			if e.ActorID != bob {
				t.Fatalf("another operator's entry: %+v", e)
			}
		}
	})
	t.Run("a forged cursor", func(t *testing.T) {
		if _, err := s.AuditEntries(ctx, audit.Filter{Cursor: "bm90LWEtY3Vyc29y"}); !errs.Is(err, "invalid_cursor") {
			t.Fatalf("forged cursor: %v", err)
		}
	})
}
