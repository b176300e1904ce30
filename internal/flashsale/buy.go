package flashsale

import (
	"context"
	"fmt"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
)

// BuyInput is a buyer pressing "buy".
type BuyInput struct {
	SessionID, SKUID, BuyerID string
	Qty                       int
	// AddressID is where the order ships; it is checked by the order
	// writer, not on the hot path (a win with an address that is not the
	// buyer's is refused and its unit given back).
	AddressID string
	// RequestID is the client's id for this press: sent again (a retry
	// after a lost answer) it gets the same answer without taking more.
	RequestID string
}

// BuyResult is the decision.
type BuyResult struct {
	Outcome Outcome `json:"-"`
	// ReservationID, when won, names the reservation; its order follows
	// within moments (GET the reservation to find it).
	ReservationID string `json:"reservation_id,omitempty"`
	Left          int    `json:"left"`
	Held          int    `json:"held"`
	Repeat        bool   `json:"repeat"`
}

// Buy decides win or lose. It reads no table: the session comes from this
// process's copy (refreshed every sessionTTL) and the decision from the
// Reserver. Before the gate it fails with ErrNotOpen, after the end with
// ErrEnded; sold out and the buyer's limit are outcomes, not errors.
func (s *Service) Buy(ctx context.Context, in BuyInput) (BuyResult, error) {
	sess, err := s.cached(ctx, in.SessionID)
	if err != nil {
		return BuyResult{}, err
	}
	now := s.Clock.Now()
	switch sess.PhaseAt(now) {
	case PhaseHidden, PhaseWarmup:
		return BuyResult{}, notOpen(sess)
	case PhaseEnded:
		return BuyResult{}, ErrEnded
	}
	k, ok := sess.SKU(in.SKUID)
	if !ok {
		return BuyResult{}, ErrNotInSession
	}
	if in.Qty > k.Limit {
		return BuyResult{Outcome: LimitReached}, nil
	}
	c := Claim{SessionID: in.SessionID, SKUID: in.SKUID, BuyerID: in.BuyerID, Qty: in.Qty,
		Ticket: TicketFor(in.SessionID, in.SKUID, in.BuyerID, in.RequestID), Data: in.AddressID}
	res, err := s.Reserver.Reserve(ctx, c)
	if err == nil && res.Outcome == NotOpen {
		// The session is open but the engine has no state for it: Redis
		// restarted empty, or this session was never loaded there. Rebuild
		// it from the database (only if still absent: another replica may
		// have done it) and ask again.
		if err = s.rebuildFor(ctx, sess); err == nil {
			res, err = s.Reserver.Reserve(ctx, c)
		}
	}
	if err != nil {
		return BuyResult{}, err
	}
	switch res.Outcome {
	case NotOpen:
		return BuyResult{}, errs.E(errs.Unavailable, "flash_unavailable", "the flash sale is being restored; try again in a moment")
	case Ended:
		return BuyResult{}, ErrEnded
	}
	out := BuyResult{Outcome: res.Outcome, Left: res.Left, Held: res.Held, Repeat: res.Repeat}
	if res.Outcome == Won {
		out.ReservationID = c.Ticket
	}
	return out, nil
}

// rebuildFor loads the session once per process at a time: a thousand
// buyers finding the state gone trigger one load, not a thousand.
func (s *Service) rebuildFor(ctx context.Context, sess *Session) error {
	s.rebuild.Lock()
	defer s.rebuild.Unlock()
	fresh, err := s.Store.FlashSession(ctx, sess.ID)
	if err != nil {
		return err
	}
	return s.ensure(ctx, fresh)
}

func notOpen(sess *Session) error {
	return &errs.Error{Kind: errs.Conflict, Code: ErrNotOpen.Code,
		Message: fmt.Sprintf("the flash sale opens at %s", sess.StartsAt.Format(time.RFC3339))}
}
