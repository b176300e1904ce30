package app

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/crm"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

// crmHour is when the daily complete recompute runs: 03:00 UTC, before
// housekeeping (04:00), so the day's layers and segments are ready for the
// morning in China (11:00 there is after the overnight orders settle).
const crmHour = 3

// CRM is the crm service over the app's store and clock. It holds no state
// of its own, so every caller may have its own value; the wiring below
// registers the consumers and the job once.
func (a *App) CRM() *crm.Service { return &crm.Service{Store: a.Store, Clock: a.Clock} }

// wireCRM registers the incremental recompute on order and refund events,
// the daily complete recompute as a durable job (one a day however many
// replicas: the key is the day), and returns the service for the HTTP
// face. The first daily job is enqueued by the first paid order (and by
// every run for the next day), so a shop that never sells schedules
// nothing.
func (a *App) wireCRM() *crm.Service {
	s := a.CRM()
	s.RegisterConsumers(a.Events)
	a.Events.On(order.TopicPaid, func(ctx context.Context, _ outbox.Event) error {
		return a.scheduleCRM(ctx, a.Clock.Now())
	})
	a.Jobs.Handle(crm.JobRecompute, func(ctx context.Context, _ jobs.Job) error {
		res, err := s.Recompute(ctx)
		if err != nil {
			return err
		}
		a.Log.Info("crm recompute", "profiles", res.Profiles, "moves", res.Moves, "segments", res.Segments, "took", res.Took)
		return a.scheduleCRM(ctx, a.Clock.Now().Add(time.Hour))
	})
	return s
}

// scheduleCRM enqueues the first complete recompute after from; one
// already scheduled for that day makes this a no-op.
func (a *App) scheduleCRM(ctx context.Context, from time.Time) error {
	next := time.Date(from.Year(), from.Month(), from.Day(), crmHour, 0, 0, 0, time.UTC)
	if !next.After(from) {
		next = next.AddDate(0, 0, 1)
	}
	return a.Store.Enqueue(ctx, jobs.New(crm.JobRecompute, next.Format("2006-01-02"), next, struct{}{}))
}
