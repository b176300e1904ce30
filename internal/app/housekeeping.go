package app

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/jobs"
)

// Housekeeping is a daily job that forgets what has served its purpose:
// sessions that ended a month ago and idempotency keys older than a day
// (a client retries within minutes; a day is generous). Each run schedules
// the next; the key is the day it runs, so however many replicas start,
// one job a day exists.
const (
	JobHousekeeping  = "app.housekeeping"
	keepSessions     = 30 * 24 * time.Hour
	keepIdempotency  = 24 * time.Hour
	housekeepingHour = 4 // 04:00 UTC, noon in China: the quiet hour is the night there, but purges are light
)

func (a *App) registerHousekeeping() {
	a.Jobs.Handle(JobHousekeeping, func(ctx context.Context, j jobs.Job) error {
		now := a.Clock.Now()
		sessions, err := a.Identity.PurgeSessions(ctx, keepSessions)
		if err != nil {
			return err
		}
		keys, err := a.Store.PurgeKeys(ctx, now.Add(-keepIdempotency))
		if err != nil {
			return err
		}
		a.Log.Info("housekeeping", "sessions_purged", sessions, "idempotency_keys_purged", keys)
		if err := a.loyaltyDaily(ctx); err != nil {
			return err
		}
		return a.scheduleHousekeeping(ctx, now.Add(time.Hour))
	})
}

// scheduleHousekeeping enqueues the first run after from; a run already
// scheduled for that day makes this a no-op.
func (a *App) scheduleHousekeeping(ctx context.Context, from time.Time) error {
	next := time.Date(from.Year(), from.Month(), from.Day(), housekeepingHour, 0, 0, 0, time.UTC)
	if !next.After(from) {
		next = next.AddDate(0, 0, 1)
	}
	return a.Store.Enqueue(ctx, jobs.New(JobHousekeeping, next.Format("2006-01-02"), next, struct{}{}))
}
