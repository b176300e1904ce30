package refund

import (
	"context"
	"fmt"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// ApplyRefundResult applies what the platform says about a refund: the
// answer to a send, a verified callback (REFUND.SUCCESS, REFUND.CLOSED,
// REFUND.ABNORMAL) or a query. It is the one path that moves a refund after
// its intent, and it is idempotent: the same result any number of times, in
// any order, concurrently, changes the refund once. A result is applied
// whatever the refund's local state (a callback may overtake the send's own
// answer), except that a final state is never contradicted.
//
// An unknown out_refund_no is ErrNotFound, so a callback handler answers
// with a failure and the platform retries rather than the result being
// lost. A result naming another payment or amount is ErrResultMismatch and
// is not applied. A result contradicting a final state (success after a
// close, or the reverse) is a conflict, logged as an alarm: the amounts a
// closed refund released may be held by another refund by now, so only an
// operator can untangle it.
func (s *Service) ApplyRefundResult(ctx context.Context, res payment.RefundResult) (*Refund, error) {
	if res.OutRefundNo == "" {
		return nil, errs.Field("out_refund_no", "required", "the result names no refund")
	}
	r, err := s.Store.UpdateRefund(ctx, res.OutRefundNo, func(r *Refund, a *AfterSale) (Change, error) {
		return s.applyResult(r, a, res)
	})
	switch {
	case errs.Is(err, CodeResultMismatch), errs.Is(err, CodeInvalidState):
		s.log().Error("refund: the platform's result cannot be applied; an operator must look",
			"out_refund_no", res.OutRefundNo, "status", res.Status, "amount", int64(res.Refund), "err", err)
	case err != nil:
		return nil, err
	}
	return r, err
}

func (s *Service) applyResult(r *Refund, a *AfterSale, res payment.RefundResult) (Change, error) {
	if (res.OutTradeNo != "" && res.OutTradeNo != r.OutTradeNo) || (res.Refund != 0 && res.Refund != r.Amount) {
		return Change{}, fmt.Errorf("refund %s: platform says out_trade_no %q amount %d, we have %q %d: %w",
			r.ID, res.OutTradeNo, res.Refund, r.OutTradeNo, r.Amount, ErrResultMismatch)
	}
	now := s.Clock.Now()
	switch res.Status {
	case payment.RefundProcessing:
		if r.State != Pending {
			return Change{}, ErrNoop // the platform had said so already, or more
		}
		r.State = Processing
		s.accepted(r, res, now)
		return Change{Jobs: []jobs.Job{s.reconcileJob(r, 1, now)}}, nil
	case payment.RefundSuccess:
		switch r.State {
		case Succeeded:
			return Change{}, ErrNoop
		case Closed:
			return Change{}, badRefundState(r.State, "succeeded (the platform says it succeeded)")
		}
		s.accepted(r, res, now)
		return s.succeed(r, a, now), nil
	case payment.RefundClosed:
		switch r.State {
		case Closed:
			return Change{}, ErrNoop
		case Succeeded:
			return Change{}, badRefundState(r.State, "closed (the platform says it closed)")
		}
		s.accepted(r, res, now)
		return s.close(r, a, "closed by the payment platform", now), nil
	case payment.RefundAbnormal:
		if r.State == Abnormal || r.State.Final() {
			return Change{}, ErrNoop
		}
		s.accepted(r, res, now)
		r.State, r.Failure, r.UpdatedAt = Abnormal, "the payment platform could not pay the refund out (the buyer's account or card refused it)", now
		return Change{Events: []outbox.Event{refundEvent(TopicAbnormal, r, now)}}, nil
	}
	return Change{}, errs.Field("status", "invalid_refund_status", "unknown refund status %q", res.Status)
}

// accepted records that the platform knows the refund.
func (s *Service) accepted(r *Refund, res payment.RefundResult, now time.Time) {
	if res.RefundID != "" {
		r.PlatformRefundID = res.RefundID
	}
	if r.SentAt == nil {
		r.SentAt = &now
	}
	r.UpdatedAt = now
}

// succeed moves a refund to succeeded: its transfer posts, the payout and
// the returned fee are written, and its after-sale is done.
func (s *Service) succeed(r *Refund, a *AfterSale, now time.Time) Change {
	r.State, r.FinishedAt, r.UpdatedAt = Succeeded, &now, now
	c := Change{
		Post:      []string{ledger.RefundID(r.ID)},
		Transfers: payoutTransfers(r, now),
		Events:    []outbox.Event{refundEvent(TopicSucceeded, r, now)},
	}
	if a != nil {
		a.State, a.UpdatedAt = Refunded, now
	}
	return c
}

// close moves a refund to closed: its transfer is voided and its amounts
// go back to the order's position; its after-sale failed, freeing its lines
// for a new request.
func (s *Service) close(r *Refund, a *AfterSale, why string, now time.Time) Change {
	r.State, r.Failure, r.FinishedAt, r.UpdatedAt = Closed, why, &now, now
	c := Change{
		Void:    []string{ledger.RefundID(r.ID)},
		Release: true,
		Events:  []outbox.Event{refundEvent(TopicClosed, r, now)},
	}
	if a != nil {
		a.State, a.UpdatedAt = Failed, now
	}
	return c
}

// ResolveAbnormal is an operator's decision on an abnormal refund, with a
// note kept for audit on the refund and in its event: refunded_offline (the
// money reached the buyer another way: it counts as refunded) or closed (it
// will not happen: its amounts are free again).
func (s *Service) ResolveAbnormal(ctx context.Context, refundID string, res Resolution, operator, note string) (*Refund, error) {
	var l errs.List
	note = checkText(&l, "note", note, MaxNote, true)
	if res != RefundedOffline && res != ResolvedClosed {
		l.Add("resolution", "invalid_resolution", "resolution is refunded_offline or closed")
	}
	if operator == "" {
		l.Add("operator", "required", "the operator is required")
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	if !ids.Valid(refundID) {
		return nil, ErrNotFound
	}
	return s.Store.UpdateRefund(ctx, OutRefundNo(refundID), func(r *Refund, a *AfterSale) (Change, error) {
		if r.State != Abnormal {
			return Change{}, badRefundState(r.State, "resolved: only an abnormal refund waits for an operator")
		}
		now := s.Clock.Now()
		r.Resolution, r.Note, r.Operator = res, note, operator
		if res == RefundedOffline {
			return s.succeed(r, a, now), nil
		}
		return s.close(r, a, "closed by an operator", now), nil
	})
}
