package bargain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// HelpInput is one help request: who helps which bargain, from which
// device and address.
type HelpInput struct {
	BargainID string
	HelperID  string
	DeviceID  string
	IP        string
}

// MaxDeviceID bounds a device id (the mini program's own identifier).
const MaxDeviceID = 128

// ValidDeviceID reports whether s can be a device id: 1 to MaxDeviceID
// printable ASCII characters.
func ValidDeviceID(s string) bool {
	if s == "" || len(s) > MaxDeviceID {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// Help records a help and, unless a suspicious pattern holds it, applies
// the next cut of the schedule: the cut is the slot's, whoever helps. A
// repeat of the same help (same helper, same device) answers the first
// one, so a client may retry freely.
func (s *Service) Help(ctx context.Context, in HelpInput) (*Help, *Bargain, error) {
	if !ValidDeviceID(in.DeviceID) {
		return nil, nil, ErrDeviceRequired
	}
	if !ids.Valid(in.BargainID) {
		return nil, nil, ErrNotFound
	}
	c := s.config()
	helper, err := s.Buyers.Buyer(ctx, in.HelperID)
	if err != nil {
		return nil, nil, err
	}
	now := s.Clock.Now()
	if now.Sub(helper.CreatedAt) < c.MinHelperAge {
		return nil, nil, ErrAccountTooNew
	}
	q := HelpQuery{BargainID: in.BargainID, HelperID: in.HelperID, DeviceID: in.DeviceID, IP: in.IP,
		DayStart: dayStart(now), RateSince: now.Add(-c.RateWindow), WatchSince: now.Add(-c.WatchWindow),
		NewSince: now.Add(-c.NewAccount)}
	return s.Store.HelpBargain(ctx, q, func(b *Bargain, f HelpFacts) (HelpChange, error) {
		if e := f.Existing; e != nil {
			if e.DeviceID != in.DeviceID {
				return HelpChange{}, ErrAlreadyHelped
			}
			return HelpChange{Help: e}, nil
		}
		if b.InitiatorID == in.HelperID {
			return HelpChange{}, ErrCannotHelpSelf
		}
		if err := helpable(b, now); err != nil {
			return HelpChange{}, err
		}
		if err := c.refusal(f); err != nil {
			return HelpChange{}, err
		}
		h := &Help{ID: ids.New(), BargainID: b.ID, HelperID: in.HelperID, HelperSince: helper.CreatedAt.UTC(),
			DeviceID: in.DeviceID, IP: in.IP, CreatedAt: now}
		if h.Reasons = c.holdReasons(f, h, now); len(h.Reasons) > 0 {
			h.Status = Held
			return HelpChange{Help: h, Insert: true, Events: []outbox.Event{event(TopicHelpHeld, b, h, now)}}, nil
		}
		return HelpChange{Help: h, Insert: true, Bargain: true, Events: cut(b, h, now)}, nil
	})
}

// helpable is nil if b takes a cut now.
func helpable(b *Bargain, now time.Time) error {
	switch {
	case b.Status == Expired, b.Status == Open && !now.Before(b.ExpiresAt):
		return ErrExpired
	case b.Status == Succeeded, b.Cuts >= len(b.Schedule):
		return ErrComplete
	case b.OrderID != "":
		// Bought at the price reached: a help now would cut a price
		// nobody pays.
		return ErrOrdered
	}
	return nil
}

// cut applies h as the next slot of b's schedule and returns the events:
// bargain.helped, and bargain.succeeded when it was the last slot.
func cut(b *Bargain, h *Help, now time.Time) []outbox.Event {
	slot := b.Cuts
	h.Slot, h.Amount, h.Status = &slot, b.Schedule[slot], Applied
	b.Cuts++
	b.Price -= h.Amount
	b.UpdatedAt = now
	evs := []outbox.Event{event(TopicHelped, b, h, now)}
	if b.Cuts == len(b.Schedule) {
		orderBy := now.Add(time.Duration(b.PayHours) * time.Hour)
		b.Status, b.SucceededAt, b.OrderBy = Succeeded, &now, &orderBy
		evs = append(evs, event(TopicSucceeded, b, nil, now))
	}
	return evs
}

// ApproveHelp clears a held help: it takes the next slot, if the bargain
// still takes cuts (otherwise the operator rejects it).
func (s *Service) ApproveHelp(ctx context.Context, id, operatorID string) (*Help, *Bargain, error) {
	if !ids.Valid(id) {
		return nil, nil, ErrHelpNotFound
	}
	return s.Store.DecideBargainHelp(ctx, id, func(h *Help, b *Bargain) (HelpChange, error) {
		if h.Status != Held {
			return HelpChange{}, ErrNotHeld
		}
		now := s.Clock.Now()
		if err := helpable(b, now); err != nil {
			return HelpChange{}, err
		}
		evs := cut(b, h, now)
		h.DecidedAt, h.DecidedBy = &now, operatorID
		return HelpChange{Help: h, Update: true, Bargain: true, Events: evs}, nil
	})
}

// RejectHelp refuses a held help for good: its cut is never applied.
func (s *Service) RejectHelp(ctx context.Context, id, operatorID string) (*Help, *Bargain, error) {
	if !ids.Valid(id) {
		return nil, nil, ErrHelpNotFound
	}
	return s.Store.DecideBargainHelp(ctx, id, func(h *Help, b *Bargain) (HelpChange, error) {
		if h.Status != Held {
			return HelpChange{}, ErrNotHeld
		}
		now := s.Clock.Now()
		h.Status, h.DecidedAt, h.DecidedBy = Rejected, &now, operatorID
		return HelpChange{Help: h, Update: true}, nil
	})
}

// Expire ends an open bargain whose window has passed. With buy-at-current
// terms, the initiator may still order at the price reached for PayHours.
func (s *Service) Expire(ctx context.Context, id string) (*Bargain, error) {
	return s.Store.UpdateBargain(ctx, id, func(b *Bargain) (Change, error) {
		if b.Status != Open {
			return Change{}, ErrNoop
		}
		now := s.Clock.Now()
		if now.Before(b.ExpiresAt) {
			return Change{}, fmt.Errorf("bargain %s: expires at %s, not yet", b.ID, b.ExpiresAt)
		}
		b.Status, b.ExpiredAt, b.UpdatedAt = Expired, &now, now
		if b.BuyAtCurrent {
			by := b.ExpiresAt.Add(time.Duration(b.PayHours) * time.Hour)
			b.OrderBy = &by
		}
		return Change{Events: []outbox.Event{event(TopicExpired, b, nil, now)}}, nil
	})
}

// orderDeadline is when the initiator's chance to order b ends, if they may
// order it at now: after success, until OrderBy; with buy-at-current terms,
// while it is open and after it expired, until PayHours past its expiry.
func orderDeadline(b *Bargain, now time.Time) (time.Time, error) {
	if b.OrderID != "" {
		return time.Time{}, ErrOrdered
	}
	late := b.ExpiresAt.Add(time.Duration(b.PayHours) * time.Hour)
	switch {
	case b.Status == Succeeded && b.OrderBy != nil && now.Before(*b.OrderBy):
		return *b.OrderBy, nil
	case b.Status != Succeeded && b.BuyAtCurrent && now.Before(late):
		return late, nil
	}
	return time.Time{}, ErrNotOrderable
}

// errPriceMoved: a cut landed between pricing the order and storing it.
var errPriceMoved = errors.New("bargain: the price moved while ordering")

// OrderInput is the initiator's order of their bargain.
type OrderInput struct {
	BuyerID, BargainID, AddressID, Remark string
}

// Order places the initiator's order of their bargain at the price reached:
// one unit, priced by an order.Offer. The order, the bargain's note of it
// and the activity's unit of quota are written in one transaction; an order
// of 0 fen is paid at once. Another buyer's bargain is not found.
func (s *Service) Order(ctx context.Context, in OrderInput) (*order.Order, error) {
	if !ids.Valid(in.BargainID) {
		return nil, ErrNotFound
	}
	for attempt := 0; ; attempt++ {
		o, err := s.order(ctx, in)
		if errors.Is(err, errPriceMoved) && attempt < 3 {
			continue
		}
		if errors.Is(err, errPriceMoved) {
			return nil, errs.E(errs.Conflict, "bargain_busy", "the bargain's price is changing; try again")
		}
		return o, err
	}
}

func (s *Service) order(ctx context.Context, in OrderInput) (*order.Order, error) {
	b, err := s.Store.Bargain(ctx, in.BargainID)
	if err != nil {
		return nil, err
	}
	if b.InitiatorID != in.BuyerID {
		return nil, ErrNotFound
	}
	now := s.Clock.Now()
	deadline, err := orderDeadline(b, now)
	if err != nil {
		return nil, err
	}
	d, err := s.Orders.Prepare(ctx, order.PlaceInput{
		BuyerID: in.BuyerID, Lines: []order.LineInput{{SKUID: b.SKUID, Qty: 1}},
		AddressID: in.AddressID, Remark: in.Remark,
		Offer: &order.Offer{
			Activity: order.Activity{Kind: order.ActivityBargain, ID: b.ActivityID, Ref: b.ID},
			Prices:   map[string]money.Fen{b.SKUID: b.Price}, PayBy: deadline,
		},
	})
	if err != nil {
		return nil, err
	}
	_, err = s.Store.OrderBargain(ctx, b.ID, d, func(locked *Bargain) error {
		if locked.Price != b.Price {
			return errPriceMoved
		}
		_, err := orderDeadline(locked, now)
		return err
	})
	if err := order.PlaceError(err); err != nil {
		return nil, err
	}
	return s.Orders.PayFree(ctx, d.Order)
}
