package refund

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/payment"
)

// Job kinds of refunds.
const (
	// JobSend sends a pending refund to the platform, keyed by the refund.
	JobSend = "refund.send"
	// JobReconcile asks the platform about a refund it accepted, in case
	// its callback is lost; keyed by the refund and the query's number.
	JobReconcile = "refund.reconcile"
)

// sendAttempts is how often a send is tried before its job is dead and an
// operator must look: with backoff capped at an hour, about four days of
// platform outage.
const sendAttempts = 100

// CodeAccountAbnormal is the code a payment.Gateway gives a refund the
// platform refuses because the buyer's account cannot receive it (WeChat
// Pay's USER_ACCOUNT_ABNORMAL): the refund is abnormal and waits for an
// operator, as if the platform had said ABNORMAL.
const CodeAccountAbnormal = "refund_account_abnormal"

type jobPayload struct {
	RefundID string `json:"refund_id"`
	Check    int    `json:"check,omitempty"` // reconcile: the query's number, from 1
}

func sendJob(r *Refund, now time.Time) jobs.Job {
	j := jobs.New(JobSend, r.ID, now, jobPayload{RefundID: r.ID})
	j.MaxAttempts = sendAttempts
	return j
}

// reconcileJob is the n-th query of a refund: the first ReconcileAfter
// from now, each later one waiting twice as long, up to ReconcileMax. Each
// query has its own key, so the query that schedules the next one does not
// collide with its own live row.
func (s *Service) reconcileJob(r *Refund, n int, now time.Time) jobs.Job {
	c := s.config()
	wait := c.ReconcileAfter
	for i := 1; i < n && wait < c.ReconcileMax; i++ {
		wait *= 2
	}
	wait = min(wait, c.ReconcileMax)
	return jobs.New(JobReconcile, fmt.Sprintf("%s:%d", r.ID, n), now.Add(wait), jobPayload{RefundID: r.ID, Check: n})
}

// RegisterJobs makes the runner run the refund's jobs. Both are idempotent:
// they act only on a refund in the state they are for, and what they learn
// goes through ApplyRefundResult.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(JobSend, s.sendHandler)
	r.Handle(JobReconcile, s.reconcileHandler)
}

// sendHandler sends a pending refund. Every attempt sends the same
// out_refund_no with the same amounts, so a retry after a lost answer, a
// crash or an expired lease finds the refund the first attempt made instead
// of making another. Only an answer from the platform moves the refund; a
// failure to hear one retries with backoff.
func (s *Service) sendHandler(ctx context.Context, j jobs.Job) error {
	var p jobPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return err
	}
	r, err := s.Store.Refund(ctx, p.RefundID)
	if errs.KindOf(err) == errs.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if r.State != Pending {
		return nil // answered already, by this job's earlier run or a callback
	}
	res, err := s.Gateway.Refund(ctx, payment.RefundRequest{
		OutTradeNo: r.OutTradeNo, OutRefundNo: r.OutRefundNo, Reason: r.Reason, Refund: r.Amount, Total: r.Total,
	})
	if err != nil {
		if retryable(err) {
			return err
		}
		return s.refused(ctx, r, err)
	}
	if res.OutRefundNo == "" {
		res.OutRefundNo = r.OutRefundNo
	}
	_, err = s.ApplyRefundResult(ctx, res)
	return err
}

// retryable tells a failure to hear the platform (a retry may succeed) from
// the platform's refusal (a retry gets the same answer): gateways report
// the first as errs.Unavailable, and anything they did not classify, such as
// a cancelled context, is treated like it.
func retryable(err error) bool {
	k := errs.KindOf(err)
	return k == errs.Unavailable || k == errs.Internal
}

// refused records the platform's refusal of a pending refund. The platform
// made no refund, so nothing left: the refund closes and frees its amounts,
// except when the buyer's account cannot receive money, which is an
// abnormal refund for an operator. Either way it is an alarm: our rules let
// through a refund the platform would not make.
func (s *Service) refused(ctx context.Context, r *Refund, cause error) error {
	s.log().Error("refund: the payment platform refused a refund", "refund", r.ID, "order", r.OrderID,
		"amount", int64(r.Amount), "err", cause)
	code := "refused"
	if e, ok := errs.As(cause); ok {
		code = e.Code
	}
	_, err := s.Store.UpdateRefund(ctx, r.OutRefundNo, func(r *Refund, a *AfterSale) (Change, error) {
		if r.State != Pending {
			return Change{}, ErrNoop
		}
		now := s.Clock.Now()
		if code == CodeAccountAbnormal {
			r.State, r.Failure, r.UpdatedAt = Abnormal, "the buyer's account cannot receive the refund", now
			return Change{Events: []outbox.Event{refundEvent(TopicAbnormal, r, now)}}, nil
		}
		return s.close(r, a, "refused by the payment platform: "+code, now), nil
	})
	return err
}

// reconcileHandler asks the platform about a refund it accepted. Still
// processing, the next query is scheduled (with the refund locked, so two
// runs of one query cannot both schedule); otherwise the answer is applied.
func (s *Service) reconcileHandler(ctx context.Context, j jobs.Job) error {
	var p jobPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return err
	}
	r, err := s.Store.Refund(ctx, p.RefundID)
	if errs.KindOf(err) == errs.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if r.State != Processing {
		return nil // a callback answered first, or an operator decides
	}
	res, err := s.Gateway.QueryRefund(ctx, r.OutRefundNo)
	if err != nil {
		return err
	}
	if res.Status != payment.RefundProcessing {
		if res.OutRefundNo == "" {
			res.OutRefundNo = r.OutRefundNo
		}
		_, err = s.ApplyRefundResult(ctx, res)
		return err
	}
	_, err = s.Store.UpdateRefund(ctx, r.OutRefundNo, func(r *Refund, _ *AfterSale) (Change, error) {
		if r.State != Processing {
			return Change{}, ErrNoop
		}
		return Change{Jobs: []jobs.Job{s.reconcileJob(r, p.Check+1, s.Clock.Now())}}, nil
	})
	return err
}
