package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
)

func init() { register("jobs", testJobs) }

func testJobs(t *testing.T, open Opener) {
	ctx := context.Background()
	t0 := platformEpoch
	lease := time.Minute

	t.Run("a job is claimed at its run_at and not before", func(t *testing.T) {
		s := open(t)
		j := jobs.New("test.remind", "", t0.Add(time.Minute), map[string]string{"order": "o-1"})
		j.MaxAttempts = 7
		failOn(t, s.Enqueue(ctx, j))
		if got := claimJobs(t, s, "a", t0.Add(time.Minute-time.Microsecond), lease, 10); len(got) != 0 {
			t.Fatalf("claimed %d jobs before run_at, want none", len(got))
		}
		got := claimJobs(t, s, "a", t0.Add(time.Minute), lease, 10)
		if len(got) != 1 {
			t.Fatalf("claimed %d jobs at run_at, want 1", len(got))
		}
		g := got[0]
		if g.ID != j.ID || g.Kind != j.Kind || g.Key != j.Key || !g.RunAt.Equal(j.RunAt) ||
			g.Attempts != 1 || g.MaxAttempts != 7 || !jsonEquivalent(g.Payload, j.Payload) {
			t.Fatalf("claimed %+v (payload %s), want %+v with Attempts 1", g, g.Payload, j)
		}
		failOn(t, s.CompleteJob(ctx, j.ID, "a"))
		if got := claimJobs(t, s, "a", t0.Add(48*time.Hour), lease, 10); len(got) != 0 {
			t.Fatalf("a completed job was claimed again")
		}
	})

	t.Run("a duplicate live key is skipped; other kinds, empty keys and finished keys are not", func(t *testing.T) {
		s := open(t)
		first := jobs.New("test.close", "o-1", t0, nil)
		failOn(t, s.Enqueue(ctx,
			first,
			jobs.New("test.close", "o-1", t0, nil),   // duplicate in the same call
			jobs.New("test.confirm", "o-1", t0, nil), // same key, other kind
			jobs.New("test.sweep", "", t0, nil),
			jobs.New("test.sweep", "", t0, nil),
		))
		failOn(t, s.Enqueue(ctx, jobs.New("test.close", "o-1", t0, nil))) // duplicate later
		got := claimJobs(t, s, "a", t0, lease, 10)
		if kinds := countKinds(got); fmt.Sprint(kinds) != "map[test.close:1 test.confirm:1 test.sweep:2]" {
			t.Fatalf("claimed kinds %v, want one close, one confirm, two sweeps", kinds)
		}
		// A running job still holds its key.
		failOn(t, s.Enqueue(ctx, jobs.New("test.close", "o-1", t0, nil)))
		if got := claimJobs(t, s, "b", t0, lease, 10); len(got) != 0 {
			t.Fatalf("a duplicate of a running job was enqueued")
		}
		// Once done, the key is free for the next job.
		failOn(t, s.CompleteJob(ctx, first.ID, "a"))
		again := jobs.New("test.close", "o-1", t0, nil)
		failOn(t, s.Enqueue(ctx, again))
		if got := claimJobs(t, s, "b", t0, lease, 10); len(got) != 1 || got[0].ID != again.ID {
			t.Fatalf("after completion, claimed %+v; want the new job %s", got, again.ID)
		}
	})

	t.Run("enqueuing a job id twice is an error, not a silent skip", func(t *testing.T) {
		s := open(t)
		j := jobs.New("test.sweep", "", t0, nil)
		failOn(t, s.Enqueue(ctx, j))
		if err := s.Enqueue(ctx, j); err == nil {
			t.Fatal("a second Enqueue of the same id succeeded")
		}
	})

	t.Run("a job whose lease ran out is claimed by another owner, and the first can no longer finish it", func(t *testing.T) {
		s := open(t)
		j := jobs.New("test.slow", "", t0, nil)
		failOn(t, s.Enqueue(ctx, j))
		if got := claimJobs(t, s, "a", t0, lease, 10); len(got) != 1 {
			t.Fatalf("a claimed %d jobs, want 1", len(got))
		}
		for _, at := range []time.Time{t0.Add(lease / 2), t0.Add(lease)} {
			if got := claimJobs(t, s, "b", at, lease, 10); len(got) != 0 {
				t.Fatalf("b claimed a job at t0+%v, inside a's lease", at.Sub(t0))
			}
		}
		got := claimJobs(t, s, "b", t0.Add(lease+time.Microsecond), lease, 10)
		if len(got) != 1 || got[0].ID != j.ID || got[0].Attempts != 2 {
			t.Fatalf("after the lease, b claimed %+v; want job %s at attempt 2", got, j.ID)
		}
		for name, err := range map[string]error{
			"complete": s.CompleteJob(ctx, j.ID, "a"),
			"retry":    s.RetryJob(ctx, j.ID, "a", t0, "a failed"),
			"kill":     s.KillJob(ctx, j.ID, "a", "a gave up"),
		} {
			if !errs.Is(err, jobs.CodeNotHeld) || errs.KindOf(err) != errs.Conflict {
				t.Errorf("%s by the old owner: err = %v; want a conflict coded %s", name, err, jobs.CodeNotHeld)
			}
		}
		failOn(t, s.CompleteJob(ctx, j.ID, "b"))
		if err := s.CompleteJob(ctx, j.ID, "b"); !errs.Is(err, jobs.CodeNotHeld) {
			t.Fatalf("completing a completed job: err = %v; want %s", err, jobs.CodeNotHeld)
		}
	})

	t.Run("a failed job is retried after its backoff", func(t *testing.T) {
		s := open(t)
		clk := clock.NewFake(t0)
		r := &jobs.Runner{Store: s, Clock: clk, Owner: "a", Lease: lease, Log: discardLog()}
		var attempts []int
		r.Handle("test.flaky", func(_ context.Context, j jobs.Job) error {
			attempts = append(attempts, j.Attempts)
			if j.Attempts == 1 {
				return errors.New("upstream timed out")
			}
			return nil
		})
		failOn(t, s.Enqueue(ctx, jobs.New("test.flaky", "", t0, nil)))
		wait := jobs.Backoff(1)
		steps := []struct {
			after time.Duration
			want  int
		}{
			{0, 1},                       // fails
			{wait - time.Microsecond, 0}, // backing off
			{wait, 1},                    // succeeds
			{wait + 24*time.Hour, 0},     // gone
		}
		for _, st := range steps {
			clk = clock.NewFake(t0.Add(st.after))
			r.Clock = clk
			n, err := r.RunOnce(ctx)
			failOn(t, err)
			if n != st.want {
				t.Fatalf("RunOnce at t0+%v claimed %d, want %d", st.after, n, st.want)
			}
		}
		if fmt.Sprint(attempts) != "[1 2]" {
			t.Fatalf("handler saw attempts %v, want [1 2]", attempts)
		}
	})

	t.Run("a job is dead after MaxAttempts, and its key is free again", func(t *testing.T) {
		s := open(t)
		r := &jobs.Runner{Store: s, Owner: "a", Lease: lease, Log: discardLog()}
		runs := 0
		r.Handle("test.doomed", func(context.Context, jobs.Job) error { runs++; return errors.New("always") })
		j := jobs.New("test.doomed", "k", t0, nil)
		j.MaxAttempts = 3
		failOn(t, s.Enqueue(ctx, j))
		for i := range 6 {
			// Each try is an hour later, past any backoff.
			r.Clock = clock.NewFake(t0.Add(time.Duration(i) * time.Hour))
			if _, err := r.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if runs != 3 {
			t.Fatalf("handler ran %d times, want MaxAttempts = 3", runs)
		}
		next := jobs.New("test.doomed", "k", t0, nil)
		failOn(t, s.Enqueue(ctx, next))
		if got := claimJobs(t, s, "b", t0.Add(10*time.Hour), lease, 10); len(got) != 1 || got[0].ID != next.ID {
			t.Fatalf("after the job died, claimed %+v; want only the new job %s", got, next.ID)
		}
	})

	t.Run("two runners racing over 300 due jobs run each exactly once", func(t *testing.T) {
		s := open(t)
		const total = 300
		js := make([]jobs.Job, total)
		for i := range js {
			js[i] = jobs.New("test.count", "", t0.Add(-time.Duration(i)*time.Millisecond), nil)
		}
		failOn(t, s.Enqueue(ctx, js...))

		var (
			mu   sync.Mutex
			runs = map[string]int{}
			by   = map[string]int{}
			logs syncBuffer // any warning means a runner lost or botched a job
			wg   sync.WaitGroup
			clk  = clock.NewFake(t0) // never moves: the hour lease outlasts the test
		)
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		for _, owner := range []string{"replica-a", "replica-b"} {
			r := &jobs.Runner{Store: s, Clock: clk, Owner: owner, Lease: time.Hour, Batch: 7, Log: log}
			r.Handle("test.count", func(_ context.Context, j jobs.Job) error {
				mu.Lock()
				defer mu.Unlock()
				runs[j.ID]++
				by[owner]++
				return nil
			})
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A claim that finds nothing means every job left is
				// leased to the other runner.
				for {
					n, err := r.RunOnce(ctx)
					if err != nil {
						t.Errorf("%s: %v", owner, err)
						return
					}
					if n == 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
		if len(runs) != total {
			t.Fatalf("ran %d distinct jobs, want %d", len(runs), total)
		}
		for id, n := range runs {
			if n != 1 {
				t.Errorf("job %s ran %d times, want once", id, n)
			}
		}
		if out := logs.String(); out != "" {
			t.Errorf("runners logged trouble:\n%s", out)
		}
		t.Logf("runs per runner: %v", by)
		if got := claimJobs(t, s, "c", t0.Add(48*time.Hour), lease, total); len(got) != 0 {
			t.Fatalf("%d jobs left after both runners finished", len(got))
		}
	})
}

func claimJobs(t *testing.T, s Engine, owner string, now time.Time, lease time.Duration, limit int) []jobs.Job {
	t.Helper()
	js, err := s.ClaimJobs(context.Background(), owner, now, lease, limit)
	if err != nil {
		t.Fatalf("ClaimJobs: %v", err)
	}
	return js
}

func countKinds(js []jobs.Job) map[string]int {
	m := map[string]int{}
	for _, j := range js {
		m[j.Kind]++
	}
	return m
}

// syncBuffer is a log sink two runners may write to at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
