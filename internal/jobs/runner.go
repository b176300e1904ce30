package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// CodeNotHeld is the errs code a Store returns when owner no longer holds a
// job: its lease ran out and another replica claimed it, so that replica's
// run, not this one, decides the job's fate.
const CodeNotHeld = "job_not_held"

// Handler does one job. Returning an error retries it with backoff.
type Handler func(ctx context.Context, j Job) error

// Runner claims due jobs and runs their handlers.
type Runner struct {
	Store    Store
	Clock    clock.Clock
	Log      *slog.Logger
	Owner    string        // this replica's name; default a random one
	Interval time.Duration // poll interval; default 500ms
	Lease    time.Duration // default 1 minute: a job must finish within it
	Batch    int           // default 20

	mu       sync.RWMutex
	handlers map[string]Handler
	wg       sync.WaitGroup
	name     sync.Once
}

// Handle registers the handler for a kind of job.
func (r *Runner) Handle(kind string, h Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.handlers == nil {
		r.handlers = map[string]Handler{}
	}
	r.handlers[kind] = h
}

// owner names the runner once: RunOnce may be called from several
// goroutines, and a name chosen twice would split one runner in two.
func (r *Runner) owner() string {
	r.name.Do(func() {
		if r.Owner == "" {
			r.Owner = "runner-" + ids.Token(6)
		}
	})
	return r.Owner
}

func (r *Runner) log() *slog.Logger {
	if r.Log == nil {
		return slog.Default()
	}
	return r.Log
}

// Run works jobs until ctx ends, then waits for the jobs in hand to finish
// (graceful shutdown drains jobs as well as requests).
func (r *Runner) Run(ctx context.Context) {
	interval := r.Interval
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	defer r.wg.Wait()
	for {
		for {
			n, err := r.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				r.log().Error("jobs: claim", "err", err)
			}
			if n == 0 || err != nil || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce claims one batch of due jobs and runs them; it returns how many it
// claimed. Tests call it to run the queue deterministically.
func (r *Runner) RunOnce(ctx context.Context) (int, error) {
	lease, batch := r.Lease, r.Batch
	if lease <= 0 {
		lease = time.Minute
	}
	if batch <= 0 {
		batch = 20
	}
	owner := r.owner()
	// The lease is counted from the claim, for the whole batch; a handler
	// still running when it ends is cancelled, because by then another
	// replica may claim the job and run it too. The deadline is wall time
	// whatever Clock says: it bounds how long a handler really runs.
	leaseEnds := time.Now().Add(lease)
	js, err := r.Store.ClaimJobs(ctx, owner, r.Clock.Now(), lease, batch)
	if err != nil {
		return 0, err
	}
	for _, j := range js {
		r.wg.Add(1)
		r.work(context.WithoutCancel(ctx), leaseEnds, owner, j)
		r.wg.Done()
	}
	return len(js), nil
}

func (r *Runner) work(ctx context.Context, leaseEnds time.Time, owner string, j Job) {
	r.mu.RLock()
	h := r.handlers[j.Kind]
	r.mu.RUnlock()
	var err error
	if h == nil {
		err = fmt.Errorf("no handler for job kind %q", j.Kind)
	} else {
		hctx, cancel := context.WithDeadline(ctx, leaseEnds)
		err = safeRun(hctx, h, j)
		cancel()
	}
	switch {
	case err == nil:
		err = r.Store.CompleteJob(ctx, j.ID, owner)
	case j.Attempts >= j.MaxAttempts:
		r.log().Error("jobs: out of attempts", "job", j.ID, "kind", j.Kind, "err", err)
		err = r.Store.KillJob(ctx, j.ID, owner, err.Error())
	default:
		r.log().Warn("jobs: failed; will retry", "job", j.ID, "kind", j.Kind, "attempt", j.Attempts, "err", err)
		err = r.Store.RetryJob(ctx, j.ID, owner, r.Clock.Now().Add(Backoff(j.Attempts)), err.Error())
	}
	switch {
	case errs.Is(err, CodeNotHeld):
		r.log().Warn("jobs: lease ran out before the job finished; its new owner decides", "job", j.ID, "kind", j.Kind, "err", err)
	case err != nil:
		r.log().Error("jobs: record result", "job", j.ID, "err", err)
	}
}

func safeRun(ctx context.Context, h Handler, j Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return h(ctx, j)
}

// Backoff is the wait before attempt n+1: 2^n seconds, capped at one hour.
func Backoff(attempt int) time.Duration {
	if attempt > 12 {
		return time.Hour
	}
	d := time.Duration(1<<attempt) * time.Second
	if d > time.Hour {
		d = time.Hour
	}
	return d
}
