package affiliate

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// JobSettle settles every sale that is due. It is keyed by the minute it
// runs, so however many orders complete in a minute, one job runs.
const JobSettle = "affiliate.settle"

// settleBatch is how many sales one transaction settles.
const settleBatch = 1000

// retryBlocked is when a sweep that left sales blocked by an open
// after-sale looks again (the after-sale's end also wakes it).
const retryBlocked = time.Hour

// RegisterConsumers makes the dispatcher deliver the events commission
// reacts to. Each consumer is idempotent.
func (s *Service) RegisterConsumers(d *outbox.Dispatcher) {
	d.On(order.TopicPaid, s.onPaid)
	d.On(order.TopicCompleted, s.onCompleted)
	d.On(refund.TopicSucceeded, s.onRefunded)
	// An after-sale or refund ending may unblock a settlement.
	for _, t := range []string{refund.TopicClosed, refund.TopicAfterSaleRejected, refund.TopicAfterSaleWithdrawn} {
		d.On(t, s.wake)
	}
}

// RegisterJobs makes the runner run distribution's jobs.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(JobSettle, func(ctx context.Context, _ jobs.Job) error { _, err := s.SettleDue(ctx); return err })
	r.Handle(JobSendWithdrawal, s.sendHandler)
	r.Handle(JobQueryWithdrawal, s.queryHandler)
}

func settleJob(at time.Time) jobs.Job {
	at = at.UTC().Truncate(time.Minute).Add(time.Minute)
	return jobs.New(JobSettle, at.Format(time.RFC3339), at, struct{}{})
}

func (s *Service) onPaid(ctx context.Context, e outbox.Event) error {
	var ev order.Event
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return fmt.Errorf("affiliate: order.paid payload: %w", err)
	}
	return s.RecordOrder(ctx, ev.OrderID)
}

// RecordOrder computes a paid order's commissions and books them pending,
// once per order. It first binds the buyer through the promoters' links
// they opened before paying. The earners are the buyer's upline at payment
// (or the buyer first, if they are a promoter and self-purchase earns);
// only approved promoters earn, and a tier whose promoter is not approved
// is not paid to anyone else (no commission moves up a team).
func (s *Service) RecordOrder(ctx context.Context, orderID string) error {
	if _, err := s.Store.Sale(ctx, orderID); err == nil {
		return nil
	} else if !errs.Is(err, ErrNoSale.Code) {
		return err
	}
	o, err := s.Orders.Order(ctx, orderID)
	if err != nil {
		return err
	}
	if o.PaidAt == nil {
		return nil
	}
	p, err := s.Program(ctx)
	if err != nil {
		return err
	}
	if err := s.catchUp(ctx, o.BuyerID, *o.PaidAt); err != nil {
		return err
	}
	self := false
	if pr, err := s.Store.Promoter(ctx, o.BuyerID); err == nil && pr.Status == Approved {
		self = true
	} else if err != nil && !errs.Is(err, ErrNotPromoter.Code) {
		return err
	}
	var chain []string
	if self && p.SelfPurchase {
		chain = append(chain, o.BuyerID)
	}
	up, err := s.Store.Upline(ctx, o.BuyerID, p.Tiers-len(chain), *o.PaidAt)
	if err != nil {
		return err
	}
	chain = append(chain, up...)
	var earners []Earner
	for i, id := range chain {
		if _, err := s.approved(ctx, id); err != nil {
			if errs.Is(err, ErrNotApproved.Code) {
				continue
			}
			return err
		}
		earners = append(earners, Earner{PromoterID: id, Tier: i + 1})
	}
	if o.Activity != nil && !p.Activities[o.Activity.Kind] {
		earners = nil
	}
	if len(earners) == 0 && !self {
		return nil
	}
	rules, err := s.Store.CommissionRules(ctx)
	if err != nil {
		return err
	}
	cs := Compute(p, NewRates(p, rules), o, earners)
	now := s.Clock.Now().UTC()
	for i := range cs {
		cs[i].CreatedAt = now
	}
	var paid money.Fen
	for _, l := range o.Lines {
		paid += l.Amount
	}
	sale := &Sale{OrderID: o.ID, BuyerID: o.BuyerID, SelfBuy: self, Paid: paid, PaidAt: o.PaidAt.UTC()}
	c := Change{Transfers: Accrual(cs, o.ID)}
	for i := range c.Transfers {
		c.Transfers[i].CreatedAt = now
	}
	if len(c.Transfers) > 0 {
		if err := s.ensureAccounts(ctx); err != nil {
			return err
		}
	}
	_, err = s.Store.RecordSale(ctx, sale, cs, c)
	return err
}

// onCompleted starts an order's settle window: receipt confirmed (by the
// buyer or automatically), plus the program's settle days.
func (s *Service) onCompleted(ctx context.Context, e outbox.Event) error {
	var ev order.Event
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return fmt.Errorf("affiliate: order.completed payload: %w", err)
	}
	if err := s.RecordOrder(ctx, ev.OrderID); err != nil {
		return err
	}
	p, err := s.Program(ctx)
	if err != nil {
		return err
	}
	at := e.CreatedAt.UTC().AddDate(0, 0, p.SettleDays)
	ok, err := s.Store.ScheduleSettlement(ctx, ev.OrderID, at)
	if err != nil || !ok {
		return err
	}
	return s.Jobs.Enqueue(ctx, settleJob(at))
}

// onRefunded reverses the commission of what a refund gave back, in
// proportion, once per refund.
func (s *Service) onRefunded(ctx context.Context, e outbox.Event) error {
	var ev refund.RefundEvent
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return fmt.Errorf("affiliate: refund.succeeded payload: %w", err)
	}
	// A refund delivered before its order's payment is recorded first,
	// so nothing is computed later on what was already given back.
	if err := s.RecordOrder(ctx, ev.OrderID); err != nil {
		return err
	}
	lines := make([]RefundedLine, 0, len(ev.Lines))
	for _, l := range ev.Lines {
		lines = append(lines, RefundedLine{LineID: l.OrderLineID, Amount: l.Amount})
	}
	now := s.Clock.Now().UTC()
	_, err := s.Store.ApplyRefund(ctx, ev.RefundID, ev.OrderID, func(_ *Sale, cs []Commission) ([]Commission, Change, error) {
		changed, ts := Reverse(cs, Refunded(cs, lines, ev.Amount-ev.Shipping, ev.Full), ev.RefundID, ev.OrderID)
		for i := range ts {
			ts[i].CreatedAt = now
		}
		return changed, Change{Transfers: ts, Jobs: []jobs.Job{settleJob(now)}}, nil
	})
	return err
}

func (s *Service) wake(ctx context.Context, _ outbox.Event) error {
	return s.Jobs.Enqueue(ctx, settleJob(s.Clock.Now()))
}

// SettleDue settles every sale due now, in batches, and returns how many it
// settled. Sales held by an open after-sale wait; a later sweep is
// scheduled for them.
func (s *Service) SettleDue(ctx context.Context) (int, error) {
	now := s.Clock.Now().UTC()
	total := 0
	for {
		n, err := s.Store.SettleDue(ctx, now, settleBatch, func(sales []*Sale, cs []Commission) ([]Commission, Change, error) {
			ref := sales[0].OrderID
			if len(sales) > 1 {
				ref = fmt.Sprintf("%d sales from %s", len(sales), sales[0].OrderID)
			}
			changed, ts := Settle(cs, ids.New(), ref, now)
			return changed, Change{Transfers: ts}, nil
		})
		total += n
		if err != nil {
			return total, err
		}
		if n < settleBatch {
			break
		}
	}
	left, err := s.Store.DueSales(ctx, now)
	if err != nil || left == 0 {
		return total, err
	}
	return total, s.Jobs.Enqueue(ctx, settleJob(now.Add(retryBlocked)))
}
