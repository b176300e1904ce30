package jobs_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
)

// queue is a jobs.Store in memory that records what the runner told it.
type queue struct {
	mu      sync.Mutex
	ready   []jobs.Job
	owners  map[string]bool // every owner that claimed
	done    []string
	retried map[string]time.Time
	killed  map[string]string
}

func (q *queue) Enqueue(_ context.Context, js ...jobs.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ready = append(q.ready, js...)
	return nil
}

func (q *queue) ClaimJobs(_ context.Context, owner string, now time.Time, _ time.Duration, limit int) ([]jobs.Job, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.owners == nil {
		q.owners = map[string]bool{}
	}
	q.owners[owner] = true
	var out, keep []jobs.Job
	for _, j := range q.ready {
		if len(out) < limit && !j.RunAt.After(now) {
			j.Attempts++
			out = append(out, j)
		} else {
			keep = append(keep, j)
		}
	}
	q.ready = keep
	return out, nil
}

func (q *queue) CompleteJob(_ context.Context, id, _ string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.done = append(q.done, id)
	return nil
}

func (q *queue) RetryJob(_ context.Context, id, _ string, runAt time.Time, _ string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.retried == nil {
		q.retried = map[string]time.Time{}
	}
	q.retried[id] = runAt
	return nil
}

func (q *queue) KillJob(_ context.Context, id, _, lastErr string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.killed == nil {
		q.killed = map[string]string{}
	}
	q.killed[id] = lastErr
	return nil
}

var t0 = time.Date(2031, 3, 1, 9, 0, 0, 0, time.UTC)

func TestRunnerOutcomes(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name     string
		attempts int // made before this run
		max      int
		handler  jobs.Handler // nil: none registered
		done     bool
		retryAt  time.Duration // after t0; 0: not retried
		killed   string        // the recorded error, when killed
	}{
		{name: "success completes the job", max: 3,
			handler: func(context.Context, jobs.Job) error { return nil }, done: true},
		{name: "a failure retries after the backoff of the attempt", attempts: 2, max: 5,
			handler: func(context.Context, jobs.Job) error { return errors.New("boom") }, retryAt: jobs.Backoff(3)},
		{name: "a failure on the last attempt kills the job", attempts: 2, max: 3,
			handler: func(context.Context, jobs.Job) error { return errors.New("boom") }, killed: "boom"},
		{name: "a panic is a failure, not a crash", max: 3,
			handler: func(context.Context, jobs.Job) error { panic("nil map") }, retryAt: jobs.Backoff(1)},
		{name: "a job with no handler is retried, for a replica that has one", max: 3, retryAt: jobs.Backoff(1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := &queue{}
			r := &jobs.Runner{Store: q, Clock: clock.NewFake(t0)}
			if c.handler != nil {
				r.Handle("k", c.handler)
			}
			j := jobs.New("k", "", t0, nil)
			j.Attempts, j.MaxAttempts = c.attempts, c.max
			_ = q.Enqueue(ctx, j)
			if n, err := r.RunOnce(ctx); n != 1 || err != nil {
				t.Fatalf("RunOnce = %d, %v; want 1, nil", n, err)
			}
			if got := len(q.done) == 1; got != c.done {
				t.Errorf("completed = %v, want %v", got, c.done)
			}
			if at, ok := q.retried[j.ID]; ok != (c.retryAt != 0) || (ok && !at.Equal(t0.Add(c.retryAt))) {
				t.Errorf("retried at %v (%v), want t0+%v", at, ok, c.retryAt)
			}
			if got := q.killed[j.ID]; got != c.killed {
				t.Errorf("killed with %q, want %q", got, c.killed)
			}
		})
	}
}

func TestRunnerCancelsAHandlerWhenItsLeaseEnds(t *testing.T) {
	q := &queue{}
	r := &jobs.Runner{Store: q, Clock: clock.NewFake(t0), Lease: 50 * time.Millisecond}
	r.Handle("slow", func(ctx context.Context, _ jobs.Job) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return nil
		}
	})
	_ = q.Enqueue(context.Background(), jobs.New("slow", "", t0, nil))
	start := time.Now()
	if _, err := r.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second || len(q.retried) != 1 {
		t.Fatalf("after %v: retried %d jobs; want the handler cut off at its lease and the job retried", time.Since(start), len(q.retried))
	}
}

func TestRunnerWithoutOwnerNamesItselfOnce(t *testing.T) {
	q := &queue{}
	r := &jobs.Runner{Store: q, Clock: clock.NewFake(t0)}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = r.RunOnce(context.Background())
		}()
	}
	wg.Wait()
	if len(q.owners) != 1 {
		t.Fatalf("one runner claimed under %d names: %v", len(q.owners), q.owners)
	}
}

func TestBackoff(t *testing.T) {
	for attempt, want := range map[int]time.Duration{
		0: time.Second, 1: 2 * time.Second, 5: 32 * time.Second,
		11: 2048 * time.Second, 12: time.Hour, 13: time.Hour, 1000: time.Hour,
	} {
		if got := jobs.Backoff(attempt); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", attempt, got, want)
		}
	}
}
