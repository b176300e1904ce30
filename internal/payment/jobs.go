package payment

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/order"
)

// ErrStillPending is the reconcile job's answer while the platform says the
// buyer has not paid yet and the order still waits: the job runner retries
// it with backoff until the payment settles one way or the other.
var ErrStillPending = errors.New("payment: not paid yet; asking again later")

// RegisterJobs makes the runner run the payment's scheduled work.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(JobReconcile, func(ctx context.Context, j jobs.Job) error {
		var p jobPayload
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return err
		}
		return s.Reconcile(ctx, p.OutTradeNo)
	})
}

func reconcileJob(outTradeNo string, at time.Time) jobs.Job {
	return jobs.New(JobReconcile, outTradeNo, at, jobPayload{OutTradeNo: outTradeNo})
}

// Reconcile asks the platform about a payment we have not heard the end of
// (its callback lost, late, or never sent) and applies the answer through
// the same paths as a callback: paid -> Capture; closed there -> closed
// here; not paid yet -> ErrStillPending while the order waits, and settled
// (closed at the platform) once the order no longer does. Safe to run any
// number of times, on any replica.
func (s *Service) Reconcile(ctx context.Context, outTradeNo string) error {
	p, err := s.Store.PaymentByOutTradeNo(ctx, outTradeNo)
	if errs.Is(err, CodeNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if p.State != Pending {
		return nil
	}
	o, err := s.Orders.Order(ctx, p.OrderID)
	if err != nil {
		return err
	}
	if o.Status != order.PendingPayment {
		// Cancelled by the buyer (who does not wait for the platform), or
		// closed without the hook: close the transaction at the platform
		// now, or capture what arrived.
		return s.settle(ctx, outTradeNo)
	}
	tx, err := s.Gateway.QueryPayment(ctx, outTradeNo)
	switch {
	case errs.Is(err, CodeTradeNotFound):
		// The prepay has not reached the platform (yet): the buyer may
		// still pay.
		return ErrStillPending
	case err != nil:
		return err
	case paid(tx.State):
		_, err := s.Capture(ctx, tx)
		return err
	case tx.State == TradeClosed || tx.State == TradeRevoked:
		return s.markClosed(ctx, outTradeNo)
	}
	// NOTPAY, USERPAYING, PAYERROR: the buyer may still pay, until the
	// order's close job settles the payment.
	return ErrStillPending
}
