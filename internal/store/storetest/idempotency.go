package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/idempotency"
)

func init() { register("idempotency", testIdempotency) }

func testIdempotency(t *testing.T, open Opener) {
	ctx := context.Background()
	t0 := platformEpoch
	rec := func(scope, key, hash string, at time.Time) idempotency.Record {
		return idempotency.Record{Scope: scope, Key: key, RequestHash: hash, CreatedAt: at}
	}

	t.Run("a new key is claimed; a repeat gets the first record back", func(t *testing.T) {
		s := open(t)
		claimKey(t, s, rec("buyer:1", "k1", "hash-a", t0), true)
		got := claimKey(t, s, rec("buyer:1", "k1", "hash-b", t0.Add(time.Second)), false)
		if got.Scope != "buyer:1" || got.Key != "k1" || got.RequestHash != "hash-a" ||
			got.Status != 0 || len(got.Body) != 0 || !got.CreatedAt.Equal(t0) {
			t.Fatalf("repeat got %+v; want the first claim's record, unfinished", got)
		}
	})

	t.Run("the same key in another scope is another key", func(t *testing.T) {
		s := open(t)
		claimKey(t, s, rec("buyer:1", "k1", "h", t0), true)
		claimKey(t, s, rec("buyer:2", "k1", "h", t0), true)
	})

	t.Run("of 20 concurrent claims of one key exactly one wins, and the others see its hash", func(t *testing.T) {
		s := open(t)
		type result struct {
			hash  string // the claimer's own
			seen  string // the hash returned to a loser
			isNew bool
			err   error
		}
		results := make([]result, 20)
		var wg sync.WaitGroup
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h := fmt.Sprintf("hash-%02d", i)
				got, isNew, err := s.ClaimKey(ctx, rec("buyer:1", "race", h, t0))
				results[i] = result{hash: h, isNew: isNew, err: err}
				if got != nil {
					results[i].seen = got.RequestHash
				}
			}()
		}
		wg.Wait()
		winner := ""
		for _, r := range results {
			failOn(t, r.err)
			if r.isNew {
				if winner != "" {
					t.Fatalf("both %s and %s claimed the key", winner, r.hash)
				}
				winner = r.hash
			}
		}
		if winner == "" {
			t.Fatal("no claim won")
		}
		for _, r := range results {
			if !r.isNew && r.seen != winner {
				t.Errorf("%s lost but saw hash %q, want the winner's %q", r.hash, r.seen, winner)
			}
		}
	})

	t.Run("a finished key replays its status and body, and cannot be finished again", func(t *testing.T) {
		s := open(t)
		body := []byte(`{"order_id":"o-1","total":1999}`)
		claimKey(t, s, rec("buyer:1", "k1", "h", t0), true)
		failOn(t, s.FinishKey(ctx, "buyer:1", "k1", 201, body))
		got := claimKey(t, s, rec("buyer:1", "k1", "h", t0), false)
		if got.Status != 201 || !bytes.Equal(got.Body, body) || got.RequestHash != "h" {
			t.Fatalf("replay = status %d body %s hash %q; want 201 %s h", got.Status, got.Body, got.RequestHash, body)
		}
		err := s.FinishKey(ctx, "buyer:1", "k1", 500, []byte("later"))
		if errs.KindOf(err) != errs.Conflict {
			t.Fatalf("second finish: err = %v; want a conflict", err)
		}
		if got := claimKey(t, s, rec("buyer:1", "k1", "h", t0), false); got.Status != 201 {
			t.Fatalf("a second finish changed the replay to %d", got.Status)
		}
		if err := s.FinishKey(ctx, "buyer:1", "never-claimed", 200, nil); errs.KindOf(err) != errs.Conflict {
			t.Fatalf("finishing an unknown key: err = %v; want a conflict", err)
		}
	})

	t.Run("release forgets an unfinished key and keeps a finished one", func(t *testing.T) {
		s := open(t)
		claimKey(t, s, rec("buyer:1", "k1", "h", t0), true)
		failOn(t, s.ReleaseKey(ctx, "buyer:1", "k1"))
		claimKey(t, s, rec("buyer:1", "k1", "h2", t0), true)

		failOn(t, s.FinishKey(ctx, "buyer:1", "k1", 200, []byte("ok")))
		failOn(t, s.ReleaseKey(ctx, "buyer:1", "k1"))
		if got := claimKey(t, s, rec("buyer:1", "k1", "h3", t0), false); got.Status != 200 || got.RequestHash != "h2" {
			t.Fatalf("after releasing a finished key, claim got %+v; want the finished record", got)
		}
		failOn(t, s.ReleaseKey(ctx, "buyer:1", "never-claimed"))
	})

	t.Run("purge deletes the keys created before the cutoff", func(t *testing.T) {
		s := open(t)
		cutoff := t0.Add(-30 * time.Minute)
		for k, at := range map[string]time.Time{
			"older":     t0.Add(-2 * time.Hour),
			"old":       t0.Add(-time.Hour),
			"at-cutoff": cutoff, // "before" is strict
			"new":       t0,
		} {
			claimKey(t, s, rec("buyer:1", k, "h", at), true)
		}
		failOn(t, s.FinishKey(ctx, "buyer:1", "old", 200, []byte("ok")))
		n, err := s.PurgeKeys(ctx, cutoff)
		failOn(t, err)
		if n != 2 {
			t.Fatalf("purged %d keys, want 2", n)
		}
		claimKey(t, s, rec("buyer:1", "old", "h", t0), true)
		claimKey(t, s, rec("buyer:1", "older", "h", t0), true)
		claimKey(t, s, rec("buyer:1", "at-cutoff", "h", t0), false)
		claimKey(t, s, rec("buyer:1", "new", "h", t0), false)
	})
}

// claimKey claims r and checks whether it was new; it returns the existing
// record when it was not.
func claimKey(t *testing.T, s Engine, r idempotency.Record, wantNew bool) *idempotency.Record {
	t.Helper()
	got, isNew, err := s.ClaimKey(context.Background(), r)
	failOn(t, err)
	if isNew != wantNew {
		t.Fatalf("ClaimKey(%s/%s) new = %v, want %v (existing %+v)", r.Scope, r.Key, isNew, wantNew, got)
	}
	if isNew != (got == nil) {
		t.Fatalf("ClaimKey(%s/%s) new = %v with record %+v; a record comes back exactly when the key is not new", r.Scope, r.Key, isNew, got)
	}
	return got
}
