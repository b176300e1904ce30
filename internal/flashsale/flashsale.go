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
// Until Load runs, a Reserver with no state for a SKU answers NotOpen, so a
// restarted, empty Redis refuses every buyer instead of selling the quota a
// second time.
//
// Invariant, at every instant between two calls: left + Σ held == quota, and
// no buyer holds more than the limit.
package flashsale

import (
	"context"
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

// Result is a reservation's answer.
type Result struct {
	Outcome Outcome
	// Left is the units left after the decision, as the engine saw them
	// (0 when the in-process sold-out flag answered).
	Left int
	// Held is the units this buyer holds of the SKU after the decision.
	Held int
}

// Reserver decides win or lose on the hot path. Implementations are safe for
// concurrent use.
type Reserver interface {
	// Reserve takes qty units of the session's SKU for the buyer if the gate
	// is open, enough units are left and the buyer stays within the limit.
	// Losing is a Result, not an error; errors are bad input or an engine
	// that cannot answer (errs.Unavailable).
	Reserve(ctx context.Context, sessionID, skuID, buyerID string, qty int) (Result, error)
	// Release gives qty units the buyer won back to the pool (an unpaid
	// winner's order expired, or the order could not be written). Releasing
	// more than the buyer holds is ErrNothingHeld and changes nothing, so a
	// release replayed by an at-least-once consumer cannot mint stock.
	Release(ctx context.Context, sessionID, skuID, buyerID string, qty int) error
	// Load (re)builds the session's state from the database's truth,
	// replacing whatever the engine held for its SKUs.
	Load(ctx context.Context, s Snapshot) error
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
	// Held is the units each buyer already won and still holds: orders
	// paid, or unpaid and not yet expired. Left = Quota - Σ Held.
	Held map[string]int
}

// Errors.
var (
	ErrNothingHeld = errs.E(errs.Conflict, "flash_nothing_held", "the buyer holds fewer units than released")
	ErrBadQuantity = &errs.Error{Kind: errs.Invalid, Code: "invalid_quantity", Field: "qty", Message: "quantity must be at least 1"}
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
	}
	return nil
}

// TotalHeld is Σ Held.
func (k SKUState) TotalHeld() int {
	n := 0
	for _, h := range k.Held {
		n += h
	}
	return n
}

// Left is the units still to sell.
func (k SKUState) Left() int { return k.Quota - k.TotalHeld() }

// CheckQty is shared by the engines: a quantity below 1 would let a buyer
// "reserve" negative stock, or "release" stock he never held.
func CheckQty(qty int) error {
	if qty < 1 {
		return ErrBadQuantity
	}
	return nil
}
