// Package flashsale owns the flash sale (秒杀): the decision, taken on the hot
// path, of whether a buyer wins a unit of a session's SKU.
//
// Why a separate engine decides. The open-source malls this field copies
// either read the stock and then write it (two buyers read "1 left" and both
// win: oversold), or take no stock at order time and deduct it after payment,
// refunding the losers (DOMAIN.md). Both fail at rush hour, and the relational
// database cannot be the referee either: every buyer would queue on one row
// lock of one hot SKU (see BenchmarkReserve and docs/benchmarks.md). So the
// decision is taken by a Reserver that holds, per session SKU, the units left
// and the units each buyer holds, and takes both in one atomic step:
//
//   - flashredis.Reserver (SIYU_REDIS_URL set, several replicas): one Lua
//     script checks the gate, the stock and the per-buyer limit and takes them
//     together; a sold-out flag in process turns later requests away without a
//     Redis round trip.
//   - Memory (the embedded mode): the same rules in process, lock-free.
//
// The database stays the system of record. A winner becomes a durable order
// asynchronously (with a pay-by deadline); an unpaid winner's unit comes back
// through Release. After a Redis restart the state is rebuilt with Load from
// the database's truth: the quota and the units each buyer already won.
// Until Load (or Ensure) runs, a Reserver with no state for a SKU answers NotOpen, so a
// restarted, empty Redis refuses every buyer instead of selling the quota a
// second time.
//
// Invariant, at every instant between two calls: left + Σ held == quota, and
// no buyer holds more than the limit.
package flashsale

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
)

// Outcome is what a reservation decided.
type Outcome uint8

const (
	// Won: the units are the buyer's; an order must follow (or a Release).
	Won Outcome = iota
	// SoldOut: fewer units left than asked for.
	SoldOut
	// LimitReached: the buyer would hold more than the per-buyer limit.
	LimitReached
	// NotOpen: the gate is not open: before the start, or no state loaded
	// for this SKU (a session not started on this engine, or Redis emptied
	// by a restart and not yet rebuilt).
	NotOpen
	// Ended: the session's end has passed.
	Ended
)

func (o Outcome) String() string {
	switch o {
	case Won:
		return "won"
	case SoldOut:
		return "sold_out"
	case LimitReached:
		return "limit_reached"
	case NotOpen:
		return "not_open"
	case Ended:
		return "ended"
	}
	return "unknown"
}

// Claim is one buy request as the engine sees it.
type Claim struct {
	SessionID, SKUID, BuyerID string
	Qty                       int
	// Ticket names the request: the reservation's id if it wins. The same
	// ticket presented again (a retry after a lost answer, a double tap)
	// answers Won with Repeat and takes nothing more, so a retry can never
	// win twice. Tickets are derived from the buyer and the client's
	// request id (see TicketFor), so one buyer cannot replay another's.
	Ticket string
	// Data rides with the win to the order writer (the address to ship to).
	Data string
}

// Result is a reservation's answer.
type Result struct {
	Outcome Outcome
	// Left is the units left after the decision, as the engine saw them
	// (0 when the in-process sold-out flag answered).
	Left int
	// Held is the units this buyer holds of the SKU after the decision.
	Held int
	// Repeat: the ticket had already won; this answer took nothing.
	Repeat bool
}

// Win is a won claim on its way to the order writer.
type Win struct {
	Claim
	At time.Time // when it won, by the engine's clock
	// Ref is the engine's handle for Ack (a Redis stream entry).
	Ref string
}

// Reserver decides win or lose on the hot path, and queues every win for
// the order writer in the same atomic step: a buyer told "won" is either in
// the queue or (once written and acknowledged) in the database.
// Implementations are safe for concurrent use.
type Reserver interface {
	// Reserve takes c.Qty units for the buyer if the gate is open, enough
	// units are left and the buyer stays within the limit, and queues the
	// win. Losing is a Result, not an error; errors are bad input or an
	// engine that cannot answer (errs.Unavailable).
	Reserve(ctx context.Context, c Claim) (Result, error)
	// Release gives the units of a won ticket back to the pool (an unpaid
	// winner's order closed, or the order could not be written). It acts
	// once per ticket: releasing a ticket again, or one that never won, is
	// ErrNothingHeld and changes nothing, so a release replayed by an
	// at-least-once consumer cannot mint stock.
	Release(ctx context.Context, sessionID, skuID, ticket string) error
	// Load (re)builds the session's state from the database's truth,
	// replacing whatever the engine held for its SKUs.
	Load(ctx context.Context, s Snapshot) error
	// Ensure loads the snapshot's SKUs that have no state on the engine and
	// leaves the others alone, so every replica may call it at start
	// without resetting a sale in progress. It says how many it loaded.
	Ensure(ctx context.Context, s Snapshot) (int, error)
	// Wins returns up to max queued wins for consumer, waiting up to wait
	// for the first. A consumer first gets back the wins it was given
	// before and did not Ack (its process died mid-batch); wins another
	// consumer left unacknowledged for long are reclaimed too.
	Wins(ctx context.Context, consumer string, max int, wait time.Duration) ([]Win, error)
	// Ack removes wins the database now holds from the queue.
	Ack(ctx context.Context, wins []Win) error
}

// Snapshot is a session's state as the database knows it.
type Snapshot struct {
	SessionID string
	StartsAt  time.Time // the gate opens
	EndsAt    time.Time // the gate closes
	SKUs      []SKUState
}

// SKUState is one SKU of a session.
type SKUState struct {
	SKUID string
	Quota int // units this session sells
	Limit int // units one buyer may hold
	// Holds are the won tickets that still hold units: orders paid, or
	// unpaid and not yet closed. Left = Quota - Σ Qty.
	Holds []Hold
}

// Hold is one won ticket's units.
type Hold struct {
	Ticket, BuyerID string
	Qty             int
}

// Errors.
var (
	ErrNothingHeld = errs.E(errs.Conflict, "flash_nothing_held", "the ticket holds no units (never won, or already released)")
	ErrBadQuantity = &errs.Error{Kind: errs.Invalid, Code: "invalid_quantity", Field: "qty", Message: "quantity must be at least 1"}
	ErrNoTicket    = &errs.Error{Kind: errs.Invalid, Code: "invalid_ticket", Field: "request_id", Message: "a reservation needs a ticket"}
)

// Validate checks a snapshot before an engine loads it: a snapshot whose
// buyers hold more than the quota means the database already oversold, and
// loading it would hide that.
func (s Snapshot) Validate() error {
	if s.SessionID == "" {
		return &errs.Error{Kind: errs.Invalid, Code: "invalid_session", Field: "session_id", Message: "session id is required"}
	}
	if !s.EndsAt.After(s.StartsAt) {
		return &errs.Error{Kind: errs.Invalid, Code: "invalid_session", Field: "ends_at", Message: "a session must end after it starts"}
	}
	for _, k := range s.SKUs {
		if k.SKUID == "" || k.Quota < 0 || k.Limit < 1 {
			return &errs.Error{Kind: errs.Invalid, Code: "invalid_session", Field: "skus", Message: "each SKU needs an id, a quota >= 0 and a limit >= 1"}
		}
		if held := k.TotalHeld(); held > k.Quota {
			return errs.E(errs.Conflict, "flash_oversold", "SKU %s: buyers hold %d units of a quota of %d", k.SKUID, held, k.Quota)
		}
		for b, n := range k.Held() {
			if n > k.Limit {
				return errs.E(errs.Conflict, "flash_over_limit", "SKU %s: buyer %s holds %d units, the limit is %d", k.SKUID, b, n, k.Limit)
			}
		}
	}
	return nil
}

// TotalHeld is Σ Qty of the holds.
func (k SKUState) TotalHeld() int {
	n := 0
	for _, h := range k.Holds {
		n += h.Qty
	}
	return n
}

// Held is the units each buyer holds.
func (k SKUState) Held() map[string]int {
	m := map[string]int{}
	for _, h := range k.Holds {
		m[h.BuyerID] += h.Qty
	}
	return m
}

// Left is the units still to sell.
func (k SKUState) Left() int { return k.Quota - k.TotalHeld() }

// Check is shared by the engines: a quantity below 1 would let a buyer
// "reserve" negative stock, and a win without a ticket could be neither
// released nor told from its retry.
func (c Claim) Check() error {
	if c.Qty < 1 {
		return ErrBadQuantity
	}
	if c.Ticket == "" {
		return ErrNoTicket
	}
	return nil
}

// TicketFor is the ticket of a buyer's request: the same request id from the
// same buyer for the same session SKU is the same ticket (a retry), and no
// other buyer can name it. It is the reservation's id too.
func TicketFor(sessionID, skuID, buyerID, requestID string) string {
	h := sha256.Sum256([]byte(sessionID + "\x00" + skuID + "\x00" + buyerID + "\x00" + requestID))
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:15])
}
