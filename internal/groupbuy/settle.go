package groupbuy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// Topics of the events a team emits, for the console and analytics.
const (
	TopicTeamOpened    = "groupbuy.team_opened"
	TopicTeamSucceeded = "groupbuy.team_succeeded"
	TopicTeamFailed    = "groupbuy.team_failed"
)

// Job kinds. Every one is idempotent and keyed, so a job run twice, or on
// two replicas, does its work once.
const (
	// JobExpire ends an open team whose time ran out; keyed by the team.
	JobExpire = "groupbuy.expire"
	// JobSettle settles a paid seat of a succeeded team: gives back what
	// it paid over the final tier, then releases its order for shipping;
	// keyed by the order.
	JobSettle = "groupbuy.settle"
	// JobRefund refunds a paid seat in full: its team failed, or its
	// payment came after the team ended; keyed by the order.
	JobRefund = "groupbuy.refund"
)

// moneyAttempts is how often a job that moves money or ends a team is
// tried before an operator must look: with backoff capped at an hour,
// about four days of a payment platform outage, as refund.send.
const moneyAttempts = 100

// TeamEvent is the payload of a team's events.
type TeamEvent struct {
	TeamID     string     `json:"team_id"`
	ActivityID string     `json:"activity_id"`
	SKUID      string     `json:"sku_id"`
	LeaderID   string     `json:"leader_id"`
	Status     TeamStatus `json:"status"`
	Capacity   int        `json:"capacity"`
	Paid       int        `json:"paid"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	FinalSize  int        `json:"final_size,omitempty"`
	FinalPrice money.Fen  `json:"final_price,omitempty"`
}

type expirePayload struct {
	TeamID string `json:"team_id"`
}

type seatPayload struct {
	TeamID  string `json:"team_id"`
	SeatID  string `json:"seat_id"`
	OrderID string `json:"order_id"`
	// Adjust (settle): what to give back, decided when the team ended.
	Adjust money.Fen `json:"adjust,omitempty"`
}

// RegisterConsumers makes the dispatcher deliver the order events that
// move seats. Delivery is at least once; a seat moves once.
func (s *Service) RegisterConsumers(d *outbox.Dispatcher) {
	d.On(order.TopicPaid, s.onOrderPaid)
	d.On(order.TopicClosed, s.onOrderGone)
	d.On(order.TopicCancelled, s.onOrderGone)
	d.On(order.TopicRefunded, s.onOrderRefunded)
}

// RegisterJobs makes the runner run the team's jobs.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(JobExpire, s.expireHandler)
	r.Handle(JobSettle, s.settleHandler)
	r.Handle(JobRefund, s.refundHandler)
}

// onOrderPaid marks the seat paid. The leader's payment opens the team
// and schedules its end; the payment that makes every seat paid succeeds
// it. A payment made after the team's deadline (by the platform's time of
// payment), or for a seat no longer in a running team, is given back in
// full.
func (s *Service) onOrderPaid(ctx context.Context, e outbox.Event) error {
	return s.onSeatOrder(ctx, e, func(a *Activity, t *Team, seats []Seat, st *Seat, o *order.Order, now time.Time) (TeamChange, error) {
		paidAt := now
		if o != nil && o.PaidAt != nil {
			paidAt = *o.PaidAt
		}
		return seatPaid(a, t, seats, st, paidAt, now)
	})
}

// onOrderGone releases the seat of an order closed or cancelled unpaid:
// its place in the team, its units of the quota and of the buyer's limit
// come back. A pending team whose leader's order went is cancelled.
func (s *Service) onOrderGone(ctx context.Context, e outbox.Event) error {
	return s.onSeatOrder(ctx, e, func(_ *Activity, t *Team, _ []Seat, st *Seat, _ *order.Order, now time.Time) (TeamChange, error) {
		return seatReleased(t, st, now)
	})
}

// onOrderRefunded takes out of a running team a member whose order was
// refunded in full some other way (finance, after-sales): a member who got
// the money back is not a member, and must not count towards success.
func (s *Service) onOrderRefunded(ctx context.Context, e outbox.Event) error {
	return s.onSeatOrder(ctx, e, func(_ *Activity, t *Team, _ []Seat, st *Seat, _ *order.Order, now time.Time) (TeamChange, error) {
		if st.State != SeatPaid || t.Status.Ended() {
			return TeamChange{}, ErrNoop
		}
		st.State, st.EndedAt = SeatRefunded, &now
		t.Taken, t.Paid, t.UpdatedAt = t.Taken-1, t.Paid-1, now
		return TeamChange{}, nil
	})
}

// seatDecision decides what an order's event does to its seat; o is the
// order as read for a payment (nil otherwise).
type seatDecision func(a *Activity, t *Team, seats []Seat, st *Seat, o *order.Order, now time.Time) (TeamChange, error)

// onSeatOrder applies decide to the seat of the event's order, if the
// order is a group buy's.
func (s *Service) onSeatOrder(ctx context.Context, e outbox.Event, decide seatDecision) error {
	var ev order.Event
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return fmt.Errorf("groupbuy: %s payload: %w", e.Topic, err)
	}
	if ev.Activity == nil || ev.Activity.Kind != order.ActivityGroupBuy {
		return nil
	}
	seat, err := s.Store.SeatByOrder(ctx, ev.OrderID)
	if errs.Is(err, ErrSeatNotFound.Code) {
		// The order and its seat are written in one transaction; an
		// order of the activity without a seat is a bug to look at, not a
		// reason to block the outbox.
		s.log().Error("groupbuy: a group buy order has no seat", "order", ev.OrderID, "topic", e.Topic)
		return nil
	}
	if err != nil {
		return err
	}
	a, err := s.published(ctx, seat.ActivityID)
	if err != nil {
		return err
	}
	var o *order.Order
	if e.Topic == order.TopicPaid {
		// The platform's time of payment, not the event's: a payment made
		// by the deadline counts however late its callback came.
		if o, err = s.Orders.Order(ctx, ev.OrderID); err != nil {
			return err
		}
	}
	_, err = s.Store.UpdateTeam(ctx, seat.TeamID, func(t *Team, seats []Seat) (TeamChange, error) {
		for i := range seats {
			if seats[i].OrderID == ev.OrderID {
				return decide(a, t, seats, &seats[i], o, s.Clock.Now())
			}
		}
		return TeamChange{}, ErrNoop
	})
	return err
}

// seatPaid is the seat's order paid at paidAt, learnt at now.
func seatPaid(a *Activity, t *Team, seats []Seat, st *Seat, paidAt, now time.Time) (TeamChange, error) {
	switch st.State {
	case SeatPaid, SeatRefunded:
		return TeamChange{}, ErrNoop
	case SeatReleased:
		// Released means its order ended unpaid; money that still arrived
		// is not a member's: give it back.
		st.State, st.PaidAt = SeatRefunded, &paidAt
		return TeamChange{Jobs: []jobs.Job{refundJob(st, now)}}, nil
	}
	st.PaidAt = &paidAt
	if t.Status.Ended() || (t.ExpiresAt != nil && paidAt.After(*t.ExpiresAt)) {
		// Too late to be a member: the team has its result, or its time
		// ran out before this payment (the expire job decides the team).
		st.State, st.EndedAt = SeatRefunded, &now
		if !t.Status.Ended() {
			t.Taken, t.UpdatedAt = t.Taken-1, now
		}
		return TeamChange{Jobs: []jobs.Job{refundJob(st, now)}}, nil
	}
	st.State = SeatPaid
	t.Paid, t.UpdatedAt = t.Paid+1, now
	var c TeamChange
	if t.Status == TeamPending {
		// The leader paid: the team opens for its window from the
		// payment, which never runs past the activity's end.
		expires := paidAt.Add(time.Duration(a.TeamHours) * time.Hour)
		if a.EndsAt.Before(expires) {
			expires = a.EndsAt
		}
		t.Status, t.ExpiresAt, t.OpenedAt = TeamOpen, &expires, &now
		c.Jobs = append(c.Jobs, expireJob(t))
		c.Events = append(c.Events, teamEvent(TopicTeamOpened, t, now))
	}
	if t.Paid >= t.Capacity {
		won := succeed(a, t, seats, now)
		c.Jobs, c.Events = append(c.Jobs, won.Jobs...), append(c.Events, won.Events...)
	}
	return c, nil
}

// seatReleased is the seat's order ended unpaid.
func seatReleased(t *Team, st *Seat, now time.Time) (TeamChange, error) {
	if st.State != SeatReserved {
		return TeamChange{}, ErrNoop
	}
	st.State, st.EndedAt = SeatReleased, &now
	t.UpdatedAt = now
	if !t.Status.Ended() {
		t.Taken--
	}
	if st.Leader && t.Status == TeamPending {
		t.Status, t.EndedAt = TeamCancelled, &now
	}
	return TeamChange{}, nil
}

// errUnsettled: a seat's order is still unpaid after the expire job asked
// for it to be closed; the job tries again.
var errUnsettled = errors.New("groupbuy: a seat's order is neither paid nor closed yet")

// expired ends an open team whose time ran out. Its reserved seats'
// orders were settled first (paid, or closed), and orders says how: a
// payment made by the deadline counts, one made after it is given back, an
// order that closed frees its seat. The team then succeeds if every seat
// is paid, or if the paid seats reach the threshold; otherwise it fails.
func expired(a *Activity, t *Team, seats []Seat, orders map[string]*order.Order, now time.Time) (TeamChange, error) {
	if t.Status != TeamOpen {
		return TeamChange{}, ErrNoop
	}
	var c TeamChange
	for i := range seats {
		st := &seats[i]
		if st.State != SeatReserved {
			continue
		}
		o := orders[st.OrderID]
		if o == nil {
			return TeamChange{}, errUnsettled
		}
		switch o.Status {
		case order.Paid, order.Shipped, order.Delivered, order.Completed, order.Refunded:
			st.PaidAt = o.PaidAt
			if o.Status != order.Refunded && o.PaidAt != nil && !o.PaidAt.After(*t.ExpiresAt) {
				st.State = SeatPaid
				t.Paid++
				continue
			}
			st.State, st.EndedAt = SeatRefunded, &now
			if o.Status != order.Refunded {
				c.Jobs = append(c.Jobs, refundJob(st, now))
			}
		case order.Closed, order.Cancelled:
			st.State, st.EndedAt = SeatReleased, &now
		default:
			return TeamChange{}, errUnsettled
		}
		t.Taken--
	}
	t.UpdatedAt = now
	var end TeamChange
	if t.Paid >= t.Capacity || (a.SuccessThreshold > 0 && t.Paid >= a.SuccessThreshold) {
		end = succeed(a, t, seats, now)
	} else {
		end = fail(t, seats, now)
	}
	c.Jobs, c.Events = append(c.Jobs, end.Jobs...), end.Events
	return c, nil
}

// succeed ends the team at the tier of its paid size. Every paid seat gets
// a settle job that gives back what it paid over its final price (the
// tier, or the leader's price) and releases its order for shipping.
func succeed(a *Activity, t *Team, seats []Seat, now time.Time) TeamChange {
	it, _ := a.Item(t.SKUID)
	tier := TierPrice(it.Tiers, t.Paid)
	t.Status, t.FinalSize, t.FinalPrice, t.EndedAt, t.UpdatedAt = TeamSucceeded, t.Paid, tier, &now, now
	c := TeamChange{Events: []outbox.Event{teamEvent(TopicTeamSucceeded, t, now)}}
	for _, st := range seats {
		if st.State != SeatPaid {
			continue
		}
		final := tier
		if st.Leader {
			final = a.LeaderFinal(tier)
		}
		j := jobs.New(JobSettle, st.OrderID, now, seatPayload{TeamID: t.ID, SeatID: st.ID, OrderID: st.OrderID,
			Adjust: max(0, st.Amount-final.Mul(st.Qty))})
		j.MaxAttempts = moneyAttempts
		c.Jobs = append(c.Jobs, j)
	}
	return c
}

// fail ends the team unfilled: every paid seat is refunded in full.
func fail(t *Team, seats []Seat, now time.Time) TeamChange {
	t.Status, t.EndedAt, t.UpdatedAt = TeamFailed, &now, now
	c := TeamChange{Events: []outbox.Event{teamEvent(TopicTeamFailed, t, now)}}
	for i := range seats {
		if st := &seats[i]; st.State == SeatPaid {
			st.State, st.EndedAt = SeatRefunded, &now
			c.Jobs = append(c.Jobs, refundJob(st, now))
		}
	}
	return c
}

func expireJob(t *Team) jobs.Job {
	j := jobs.New(JobExpire, t.ID, *t.ExpiresAt, expirePayload{TeamID: t.ID})
	j.MaxAttempts = moneyAttempts
	return j
}

func refundJob(st *Seat, now time.Time) jobs.Job {
	j := jobs.New(JobRefund, st.OrderID, now, seatPayload{TeamID: st.TeamID, SeatID: st.ID, OrderID: st.OrderID})
	j.MaxAttempts = moneyAttempts
	return j
}

func teamEvent(topic string, t *Team, now time.Time) outbox.Event {
	return outbox.New(topic, t.ID, TeamEvent{TeamID: t.ID, ActivityID: t.ActivityID, SKUID: t.SKUID, LeaderID: t.LeaderID,
		Status: t.Status, Capacity: t.Capacity, Paid: t.Paid, ExpiresAt: t.ExpiresAt, FinalSize: t.FinalSize,
		FinalPrice: t.FinalPrice}, now)
}

// errNotDue: the expire job ran before the team's deadline (a replica's
// clock behind another's); it runs again.
var errNotDue = errors.New("groupbuy: the team's time has not run out yet")

// expireHandler ends a team whose time ran out. First it closes the
// orders of its unpaid seats, each of which settles its payment with the
// platform (order.Service.Close): a buyer who paid in time counts even if
// the platform's callback has not arrived. Then it decides on the team as
// locked. Run twice, or on two replicas, the second finds the team ended.
func (s *Service) expireHandler(ctx context.Context, j jobs.Job) error {
	var p expirePayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return err
	}
	t, err := s.Store.Team(ctx, p.TeamID)
	if errs.KindOf(err) == errs.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if t.Status != TeamOpen {
		return nil
	}
	if now := s.Clock.Now(); now.Before(*t.ExpiresAt) {
		return errNotDue
	}
	seats, err := s.Store.TeamSeats(ctx, t.ID)
	if err != nil {
		return err
	}
	orders := map[string]*order.Order{}
	for _, st := range seats {
		if st.State != SeatReserved {
			continue
		}
		_, err := s.Orders.Close(ctx, st.OrderID, "the group buy team's time ran out")
		// Conflict: it was paid (or cancelled) meanwhile; read below.
		if k := errs.KindOf(err); err != nil && k != errs.Conflict && k != errs.NotFound {
			return err
		}
		o, err := s.Orders.Order(ctx, st.OrderID)
		if err != nil {
			return err
		}
		orders[o.ID] = o
	}
	a, err := s.published(ctx, t.ActivityID)
	if err != nil {
		return err
	}
	_, err = s.Store.UpdateTeam(ctx, t.ID, func(t *Team, seats []Seat) (TeamChange, error) {
		return expired(a, t, seats, orders, s.Clock.Now())
	})
	return err
}

// settleHandler settles one paid seat of a succeeded team: the price
// difference back (a refund of source adjustment: the sale stands), then
// the order released to ship. Both steps are idempotent: the adjustment by
// its key, the release by the order's own state.
func (s *Service) settleHandler(ctx context.Context, j jobs.Job) error {
	var p seatPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return err
	}
	if p.Adjust > 0 {
		_, err := s.Refunds.Adjust(ctx, refund.AdjustInput{OrderID: p.OrderID, Amount: p.Adjust,
			Reason: "拼团成团价更低，退还差价 · the team ended at a better price", Key: "groupbuy:adjust:" + p.OrderID})
		if err := s.moneyResult(err, "adjust", p); err != nil {
			return err
		}
	}
	_, err := s.Orders.Release(ctx, p.OrderID)
	if errs.KindOf(err) == errs.NotFound {
		return nil
	}
	return err
}

// refundHandler refunds one seat's order in full.
func (s *Service) refundHandler(ctx context.Context, j jobs.Job) error {
	var p seatPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return err
	}
	_, err := s.Refunds.Refund(ctx, refund.RefundInput{OrderID: p.OrderID, All: true,
		Reason: "拼团未成团，全额退款 · the group buy team did not succeed", Key: "groupbuy:refund:" + p.OrderID})
	return s.moneyResult(err, "refund", p)
}

// moneyResult sorts a refund call's failure: not hearing the platform or
// the database retries; a refusal by the refund rules (everything given
// back already, by finance say; the refund window over) will not change on
// a retry, so it is logged for an operator and the job ends.
func (s *Service) moneyResult(err error, what string, p seatPayload) error {
	if err == nil {
		return nil
	}
	if k := errs.KindOf(err); k == errs.Unavailable || k == errs.Internal {
		return err
	}
	s.log().Error("groupbuy: the refund rules refused a team's "+what+"; an operator must look",
		"team", p.TeamID, "order", p.OrderID, "adjust", int64(p.Adjust), "err", err)
	return nil
}
