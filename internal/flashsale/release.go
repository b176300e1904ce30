package flashsale

import (
	"context"
	"encoding/json"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

// RegisterConsumers makes the dispatcher give an unpaid winner's unit back
// when the order closes (its pay window passed) or is cancelled.
func (s *Service) RegisterConsumers(d *outbox.Dispatcher) {
	d.On(order.TopicClosed, s.onOrderGone)
	d.On(order.TopicCancelled, s.onOrderGone)
}

// onOrderGone releases the reservation of a flash order that ended unpaid.
// While the session runs, the unit is reserved for it again and goes back
// to the pool, winnable by the next buyer; after the end it stays with the
// shop. The database moves first, then the hot path: a crash between the
// two leaves a unit the pool does not offer (sold short by one, never
// oversold), and the hot path's release acts once per ticket, so the
// consumer's retries cannot mint stock.
func (s *Service) onOrderGone(ctx context.Context, e outbox.Event) error {
	var ev order.Event
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return errs.Wrap(err, "flashsale: event %s", e.ID)
	}
	if ev.Activity == nil || ev.Activity.Kind != order.ActivityFlashSale || ev.From == order.Paid {
		return nil
	}
	res, err := s.Store.FlashReservation(ctx, ev.Activity.Ref)
	if errs.Is(err, ErrReservationNotFound.Code) {
		return nil
	}
	if err != nil {
		return err
	}
	sess, err := s.Store.FlashSession(ctx, res.SessionID)
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	recarve := sess.Status == Scheduled && now.Before(sess.EndsAt)
	back, err := s.Store.ReleaseFlashReservation(ctx, res.ID, recarve, now)
	if err != nil || !back {
		return err
	}
	// Redis may be restarting: try for a while, then leave the unit out of
	// the pool rather than fail the event forever.
	for attempt := 0; attempt < 10; attempt++ {
		err = s.Reserver.Release(ctx, res.SessionID, res.SKUID, res.ID)
		if err == nil || errs.Is(err, ErrNothingHeld.Code) {
			return nil
		}
		pause(ctx, time.Duration(attempt+1)*200*time.Millisecond)
	}
	s.log().Error("an unpaid flash unit could not go back to the pool", "reservation", res.ID, "err", err)
	return nil
}

// runSweep closes the sessions that ended CloseAfter ago, giving their
// unsold units back to the shop. Every replica sweeps; closing is
// idempotent.
func (s *Service) runSweep(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		if err := s.CloseEnded(ctx); err != nil && ctx.Err() == nil {
			s.log().Warn("closing ended flash sessions", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CloseEnded closes every scheduled session that ended more than CloseAfter
// ago: by then the order writer has written every win.
func (s *Service) CloseEnded(ctx context.Context) error {
	cutoff := s.Clock.Now().Add(-s.config().CloseAfter)
	all, err := s.Store.FlashSessions(ctx, SessionFilter{Statuses: []Status{Scheduled}, Limit: 1000})
	if err != nil {
		return err
	}
	for _, x := range all {
		if x.EndsAt.Before(cutoff) {
			if _, err := s.Store.EndFlashSession(ctx, x.ID, Closed, s.Clock.Now()); err != nil {
				return err
			}
			s.forget(x.ID)
		}
	}
	return nil
}
