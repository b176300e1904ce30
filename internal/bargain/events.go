package bargain

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

// Topics of the events a bargain writes.
const (
	TopicOpened    = "bargain.opened"
	TopicHelped    = "bargain.helped" // a cut applied; carries the helper's reward (its coupon issued by RegisterConsumers)
	TopicSucceeded = "bargain.succeeded"
	TopicExpired   = "bargain.expired"
	TopicHelpHeld  = "bargain.help_held" // a help flagged for an operator
)

// JobExpire moves an open bargain to expired at its expires_at.
const JobExpire = "bargain.expire"

// Event is the payload of every bargain event.
type Event struct {
	BargainID   string    `json:"bargain_id"`
	ActivityID  string    `json:"activity_id"`
	InitiatorID string    `json:"initiator_id"`
	Status      Status    `json:"status"`
	Price       money.Fen `json:"price"`
	Cuts        int       `json:"cuts_applied"`
	// The help, on bargain.helped and bargain.help_held.
	HelpID   string    `json:"help_id,omitempty"`
	HelperID string    `json:"helper_id,omitempty"`
	Slot     *int      `json:"slot,omitempty"`
	Amount   money.Fen `json:"amount,omitempty"`
	Reward   *Reward   `json:"reward,omitempty"`
	Reasons  []string  `json:"reasons,omitempty"`
}

func event(topic string, b *Bargain, h *Help, at time.Time) outbox.Event {
	e := Event{BargainID: b.ID, ActivityID: b.ActivityID, InitiatorID: b.InitiatorID, Status: b.Status,
		Price: b.Price, Cuts: b.Cuts}
	if h != nil {
		e.HelpID, e.HelperID, e.Slot, e.Amount = h.ID, h.HelperID, h.Slot, h.Amount
		if topic == TopicHelped {
			e.Reward = b.Reward
		}
		if h.Status == Held {
			e.Reasons = h.Reasons
		}
	}
	return outbox.New(topic, b.ID, e, at)
}

type jobPayload struct {
	BargainID string `json:"bargain_id"`
}

func expireJob(b *Bargain) jobs.Job {
	return jobs.New(JobExpire, b.ID, b.ExpiresAt, jobPayload{BargainID: b.ID})
}

// RegisterJobs makes the runner expire bargains. The job is idempotent: a
// bargain that succeeded (or expired) meanwhile is left as it is.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(JobExpire, func(ctx context.Context, j jobs.Job) error {
		var p jobPayload
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return err
		}
		_, err := s.Expire(ctx, p.BargainID)
		if errs.KindOf(err) == errs.NotFound {
			return nil
		}
		return err
	})
}

// RegisterConsumers frees a bargain's order when it ends unpaid (closed or
// cancelled), so the buyer may order again before the bargain's deadline
// and the activity's unit goes back to the quota. Delivered twice, it frees
// once: the store frees only the order the bargain still names.
//
// It also issues a helper the coupon their reward names, on bargain.helped:
// that event is written only when a help's cut is applied (at once, or when
// an operator approves a held help), so a held help gets its coupon on
// approval and a rejected one never. The help's id is the issue's key:
// delivered twice, it issues one coupon.
func (s *Service) RegisterConsumers(d *outbox.Dispatcher) {
	d.On(order.TopicClosed, s.freeOrder)
	d.On(order.TopicCancelled, s.freeOrder)
	d.On(TopicHelped, s.rewardHelper)
}

// rewardHelper issues the helper's coupon. The reward is best effort: a
// template that cannot issue (its quantity or budget run out, ended, the
// helper at its per-buyer limit) gives nothing, and the help still stands;
// the refusal is logged, not retried, for it would refuse again.
func (s *Service) rewardHelper(ctx context.Context, e outbox.Event) error {
	var ev Event
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return fmt.Errorf("bargain: helped event %s: %w", e.ID, err)
	}
	if ev.Reward == nil || ev.Reward.CouponTemplateID == "" || ev.HelpID == "" {
		return nil
	}
	if s.Coupons == nil {
		return errs.E(errs.Unavailable, "coupons_unavailable", "bargain: no coupon service to issue rewards")
	}
	err := s.Coupons.IssueReward(ctx, ev.Reward.CouponTemplateID, ev.HelperID, ev.HelpID)
	if e, ok := errs.As(err); ok && e.Kind != errs.Internal && e.Kind != errs.Unavailable {
		log := s.Log
		if log == nil {
			log = slog.Default()
		}
		log.WarnContext(ctx, "bargain: helper reward coupon not issued", "help_id", ev.HelpID, "helper_id", ev.HelperID,
			"bargain_id", ev.BargainID, "coupon_template_id", ev.Reward.CouponTemplateID, "code", e.Code)
		return nil
	}
	return err
}

func (s *Service) freeOrder(ctx context.Context, e outbox.Event) error {
	var ev order.Event
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return fmt.Errorf("bargain: order event %s: %w", e.ID, err)
	}
	if ev.Activity == nil || ev.Activity.Kind != order.ActivityBargain {
		return nil
	}
	_, err := s.Store.FreeBargainOrder(ctx, ev.Activity.Ref, ev.OrderID, s.Clock.Now())
	return err
}
