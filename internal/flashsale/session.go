package flashsale

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
)

// Session is a flash sale: a gate that opens at StartsAt and closes at
// EndsAt, and the SKUs sold through it, each at a flash price, from a quota,
// with a per-buyer limit. Before the gate it may be shown from WarmupAt (a
// countdown), but nobody can buy.
//
// The quota is carved out of the SKU's online stock when the session is
// created: those units are reserved for the session (journal reason
// "reserve", reference "flash:<id>"), so the ordinary shop cannot sell
// them from under the winners. Closing the session (after its end) gives
// the units nobody holds back to the shop.
type Session struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	WarmupAt  *time.Time    `json:"warmup_at,omitempty"`
	StartsAt  time.Time     `json:"starts_at"`
	EndsAt    time.Time     `json:"ends_at"`
	PayWindow time.Duration `json:"-"`
	Status    Status        `json:"status"`
	SKUs      []SessionSKU  `json:"skus"`
	CreatedBy string        `json:"-"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// SessionSKU is one SKU of a session.
type SessionSKU struct {
	SKUID string    `json:"sku_id"`
	Price money.Fen `json:"price"` // the flash price of one unit
	Quota int       `json:"quota"` // units the session sells
	Limit int       `json:"limit"` // units one buyer may hold
	// Won is the units held by written reservations (orders unpaid or
	// paid): the database's count, which the order writer keeps at or
	// under Quota whatever the hot path says.
	Won int `json:"won"`
}

// Status is a session's stored state; its phase (warm-up, open, ended)
// follows from the clock.
type Status string

const (
	Scheduled Status = "scheduled" // created, its quota carved out
	Cancelled Status = "cancelled" // called off before its start; quota returned
	Closed    Status = "closed"    // ended and settled; unsold units returned
)

// Phase is where a session stands at an instant.
type Phase string

const (
	PhaseHidden  Phase = "hidden"  // before its warm-up: not shown to buyers
	PhaseWarmup  Phase = "warmup"  // shown, the gate not open yet
	PhaseOpen    Phase = "open"    // the gate is open
	PhaseEnded   Phase = "ended"   // past its end (or cancelled)
	PhaseUnknown Phase = "unknown" // never returned; the zero value's name
)

// PhaseAt is the session's phase at now.
func (s *Session) PhaseAt(now time.Time) Phase {
	switch {
	case s.Status == Cancelled || !now.Before(s.EndsAt):
		return PhaseEnded
	case !now.Before(s.StartsAt):
		return PhaseOpen
	case s.WarmupAt != nil && !now.Before(*s.WarmupAt):
		return PhaseWarmup
	}
	return PhaseHidden
}

// SKU returns the session's SKU.
func (s *Session) SKU(id string) (SessionSKU, bool) {
	for _, k := range s.SKUs {
		if k.SKUID == id {
			return k, true
		}
	}
	return SessionSKU{}, false
}

// ReservationStatus is where a won ticket stands in the database.
type ReservationStatus string

const (
	// Ordered: the win is an order (unpaid until paid; the order says).
	Ordered ReservationStatus = "ordered"
	// Released: its order closed or was cancelled unpaid; the units went
	// back to the pool (or to the shop, after the session's end).
	Released ReservationStatus = "released"
	// Refused: the database refused the win: the quota or the buyer's limit
	// would have been passed (possible only after the hot path lost state),
	// or the address to ship to is not the buyer's.
	Refused ReservationStatus = "refused"
)

// Reservation is a won ticket as written: the id is the ticket.
type Reservation struct {
	ID        string            `json:"id"`
	SessionID string            `json:"session_id"`
	SKUID     string            `json:"sku_id"`
	BuyerID   string            `json:"buyer_id"`
	Qty       int               `json:"qty"`
	Status    ReservationStatus `json:"status"`
	OrderID   string            `json:"order_id,omitempty"`
	Reason    string            `json:"reason,omitempty"` // why refused
	WonAt     time.Time         `json:"won_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Placement is one win of a batch as the order writer decided it: an order
// to write (Draft set) or a refusal (Reason set).
type Placement struct {
	Win    Win
	Draft  *order.Draft
	Reason string
}

// Known is what the database holds about a batch's wins, read in the
// writer's transaction with the batch's session SKUs locked.
type Known struct {
	// SKUs by session then SKU id: quota, limit and units won so far.
	SKUs map[string]map[string]SessionSKU
	// Written are the batch's tickets already in the database (a batch
	// written before its acknowledgement was lost): they are skipped.
	Written map[string]bool
	// Held is the units each buyer of the batch holds, by session, SKU and
	// buyer (reservations ordered).
	Held map[string]map[string]map[string]int
}

// SessionFilter selects sessions.
type SessionFilter struct {
	// EndsAfter, if set, keeps the sessions ending after it.
	EndsAfter time.Time
	// Statuses, if set, keeps the sessions in one of them.
	Statuses []Status
	Limit    int
}

// Store keeps sessions and reservations. Every method is one transaction.
type Store interface {
	// CreateFlashSession inserts the session and carves each SKU's quota
	// out of its online stock (reserved += quota, journalled with reason
	// reserve and ref "flash:<id>"), failing with inventory.OutOfStock for
	// the first SKU short and writing nothing.
	CreateFlashSession(ctx context.Context, s *Session) error
	// FlashSession returns one session with its SKUs; ErrSessionNotFound.
	FlashSession(ctx context.Context, id string) (*Session, error)
	// FlashSessions lists sessions by start time, soonest first.
	FlashSessions(ctx context.Context, f SessionFilter) ([]Session, error)
	// EndFlashSession moves a scheduled session to status (Cancelled or
	// Closed) and gives each SKU's units nobody holds (quota - won) back to
	// the online stock (reserved -= that, reason release), setting quota to
	// won. It is a no-op (nil) for a session not scheduled.
	EndFlashSession(ctx context.Context, id string, status Status, at time.Time) (*Session, error)
	// WriteFlashWins writes a batch of wins in one transaction: it locks
	// the batch's session SKUs, reads what the database knows (Known), and
	// hands it to decide, which returns a placement for every win not yet
	// written. Each placement becomes a reservation row (the ticket as id);
	// an ordered one also its order (orders, lines, the draft's events and
	// jobs: the stock is already reserved by the session's carve, so the
	// order moves none) and adds its units to the SKU's won, which may not
	// pass the quota. If decide fails nothing is written.
	WriteFlashWins(ctx context.Context, wins []Win, decide func(Known) ([]Placement, error)) error
	// FlashHolds is the session's live holds (reservations ordered) per
	// SKU: the state the hot path is rebuilt from.
	FlashHolds(ctx context.Context, sessionID string) (map[string][]Hold, error)
	// FlashReservation returns one reservation; ErrReservationNotFound.
	FlashReservation(ctx context.Context, id string) (*Reservation, error)
	// FlashReservations lists a buyer's reservations in a session, newest
	// first.
	FlashReservations(ctx context.Context, sessionID, buyerID string) ([]Reservation, error)
	// ReleaseFlashReservation ends an ordered reservation whose order closed
	// or was cancelled unpaid (the order's close already gave its units
	// back to the shop): status released, won -= qty. When recarve is true
	// and the session is still scheduled (checked under the SKU row's lock,
	// so a release racing the session's end cannot reserve units nothing
	// would give back), the units are reserved for the session again
	// (reserved += qty, reason reserve) and stay in its quota. Otherwise, or
	// if the shop sold them meanwhile (not enough available), the quota
	// shrinks by qty: the units are the shop's now, and closing the session
	// must not give them back a second time. It reports whether the units
	// went back to the session's pool. A reservation not ordered is left
	// alone: (false, nil).
	ReleaseFlashReservation(ctx context.Context, id string, recarve bool, at time.Time) (bool, error)
}

// Errors.
var (
	ErrSessionNotFound     = errs.E(errs.NotFound, "flash_session_not_found", "no such flash sale")
	ErrReservationNotFound = errs.E(errs.NotFound, "flash_reservation_not_found", "no such reservation (it may still be on its way: try again in a moment)")
	ErrNotOpen             = errs.E(errs.Conflict, "flash_not_open", "the flash sale has not started yet")
	ErrEnded               = errs.E(errs.Conflict, "flash_ended", "the flash sale is over")
	ErrNotInSession        = &errs.Error{Kind: errs.Invalid, Code: "not_in_session", Field: "sku_id", Message: "this SKU is not sold in this flash sale"}
	ErrStarted             = errs.E(errs.Conflict, "flash_started", "the flash sale has started: it can no longer be cancelled")
)
