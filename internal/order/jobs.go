package order

import (
	"context"
	"encoding/json"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
)

// RegisterJobs makes the runner run the order's scheduled work. Both jobs
// are idempotent: closing an order that was paid meanwhile, or confirming one
// the buyer already confirmed, changes nothing.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(JobCloseUnpaid, func(ctx context.Context, j jobs.Job) error {
		return s.runJob(ctx, j, func(id string) error {
			_, err := s.Close(ctx, id, "unpaid in time")
			return err
		})
	})
	r.Handle(JobConfirmReceipt, func(ctx context.Context, j jobs.Job) error {
		return s.runJob(ctx, j, func(id string) error {
			_, err := s.move(ctx, id, "", Completed, "confirmed automatically", completed)
			return err
		})
	})
}

func (s *Service) runJob(_ context.Context, j jobs.Job, do func(id string) error) error {
	var p jobPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return err
	}
	err := do(p.OrderID)
	// The order moved on by another path (paid, cancelled, confirmed by the
	// buyer) or is gone: the job has nothing left to do.
	if k := errs.KindOf(err); k == errs.Conflict || k == errs.NotFound {
		return nil
	}
	return err
}
