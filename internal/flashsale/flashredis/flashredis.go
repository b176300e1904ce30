// Package flashredis is the flash sale's Reserver on Redis, for replicas that
// share one Redis (SIYU_REDIS_URL). A reservation is one EVALSHA of one Lua
// script, which Redis runs alone: the gate, the units left and the buyer's
// count are checked and taken together, so no two replicas can sell the same
// unit and no buyer can pass the limit, whatever the load.
//
// Keys. A session SKU is two hashes sharing the hash tag {session:sku}, so a
// Redis Cluster keeps them on one slot (a script may only touch one slot),
// while different SKUs spread over the cluster:
//
//	<prefix>{<session>:<sku>}:s   left, limit, start, end (unix ms)
//	<prefix>{<session>:<sku>}:b   buyer id -> units held
//
// Redis must run without persistence for these keys (no RDB, no AOF) and with
// maxmemory-policy noeviction. Then a restart empties it, the script finds no
// state and answers not_open, and nothing is sold until Load rebuilds the
// state from the database. With persistence a restart could bring back a state
// older than the winners already on their way to the database, and the units
// they won would be sold again.
package flashredis

import (
	"context"
	_ "embed"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
)

//go:embed reserve.lua
var reserveSrc string

//go:embed release.lua
var releaseSrc string

// The scripts are loaded once (SCRIPT LOAD at the first call) and run by
// SHA afterwards; redis.Script falls back to EVAL if Redis lost its script
// cache, e.g. after a restart.
var (
	reserveScript = redis.NewScript(reserveSrc)
	releaseScript = redis.NewScript(releaseSrc)
)

// DefaultSoldOutTTL is how long this process trusts a sold-out answer before
// asking Redis again. A unit released on another replica becomes winnable
// here after at most this long; a release on this replica clears the flag at
// once.
const DefaultSoldOutTTL = 500 * time.Millisecond

// Options tune a Reserver.
type Options struct {
	Prefix     string        // key prefix; "siyu:fs:" when empty
	SoldOutTTL time.Duration // DefaultSoldOutTTL when 0; < 0 turns the flag off
	Clock      clock.Clock   // clock.Real when nil; the gate is judged by it
}

// Reserver decides on Redis. Safe for concurrent use.
type Reserver struct {
	rdb     redis.UniversalClient
	prefix  string
	ttl     time.Duration
	clock   clock.Clock
	soldOut sync.Map // key string -> *atomic.Int64 (flag valid until, unix ns)
}

var _ flashsale.Reserver = (*Reserver)(nil)

// New returns a Reserver on rdb.
func New(rdb redis.UniversalClient, o Options) *Reserver {
	r := &Reserver{rdb: rdb, prefix: o.Prefix, ttl: o.SoldOutTTL, clock: o.Clock}
	if r.prefix == "" {
		r.prefix = "siyu:fs:"
	}
	if r.ttl == 0 {
		r.ttl = DefaultSoldOutTTL
	}
	if r.clock == nil {
		r.clock = clock.Real{}
	}
	return r
}

// keys returns the state and buyers keys of a session SKU.
func (r *Reserver) keys(sessionID, skuID string) (tag string, keys []string) {
	tag = r.prefix + "{" + sessionID + ":" + skuID + "}"
	return tag, []string{tag + ":s", tag + ":b"}
}

// Script answers, first element.
const (
	codeWon = iota
	codeSoldOut
	codeLimit
	codeNotOpen
	codeEnded
)

func (r *Reserver) Reserve(ctx context.Context, sessionID, skuID, buyerID string, qty int) (flashsale.Result, error) {
	if err := flashsale.CheckQty(qty); err != nil {
		return flashsale.Result{}, err
	}
	tag, keys := r.keys(sessionID, skuID)
	if r.ttl > 0 && r.flagged(tag) {
		return flashsale.Result{Outcome: flashsale.SoldOut}, nil
	}
	now := r.clock.Now().UnixMilli()
	v, err := reserveScript.Run(ctx, r.rdb, keys, buyerID, qty, now).Int64Slice()
	if err != nil {
		return flashsale.Result{}, unavailable(err)
	}
	if len(v) != 3 {
		return flashsale.Result{}, fmt.Errorf("flashredis: reserve script answered %v", v)
	}
	res := flashsale.Result{Left: int(v[1]), Held: int(v[2])}
	switch v[0] {
	case codeWon:
		res.Outcome = flashsale.Won
	case codeSoldOut:
		res.Outcome = flashsale.SoldOut
	case codeLimit:
		res.Outcome = flashsale.LimitReached
	case codeNotOpen:
		res.Outcome = flashsale.NotOpen
	case codeEnded:
		res.Outcome = flashsale.Ended
	default:
		return flashsale.Result{}, fmt.Errorf("flashredis: reserve script answered code %d", v[0])
	}
	// Only an empty pool raises the flag: "2 asked, 1 left" must not turn
	// away the buyer who asks for 1.
	if r.ttl > 0 && res.Left == 0 && (res.Outcome == flashsale.SoldOut || res.Outcome == flashsale.Won) {
		r.flag(tag)
	}
	return res, nil
}

func (r *Reserver) Release(ctx context.Context, sessionID, skuID, buyerID string, qty int) error {
	if err := flashsale.CheckQty(qty); err != nil {
		return err
	}
	tag, keys := r.keys(sessionID, skuID)
	n, err := releaseScript.Run(ctx, r.rdb, keys, buyerID, qty).Int64()
	if err != nil {
		return unavailable(err)
	}
	if n < 0 {
		return flashsale.ErrNothingHeld
	}
	r.soldOut.Delete(tag)
	return nil
}

// Load replaces the snapshot's SKUs in one MULTI/EXEC per SKU, so a script
// sees either the old state or the new one, never half of it.
func (r *Reserver) Load(ctx context.Context, snap flashsale.Snapshot) error {
	if err := snap.Validate(); err != nil {
		return err
	}
	for _, k := range snap.SKUs {
		tag, keys := r.keys(snap.SessionID, k.SKUID)
		buyers := make([]any, 0, 2*len(k.Held))
		for b, h := range k.Held {
			if h > 0 {
				buyers = append(buyers, b, h)
			}
		}
		_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, keys...)
			p.HSet(ctx, keys[0],
				"left", k.Left(), "limit", k.Limit,
				"start", snap.StartsAt.UnixMilli(), "end", snap.EndsAt.UnixMilli())
			if len(buyers) > 0 {
				p.HSet(ctx, keys[1], buyers...)
			}
			return nil
		})
		if err != nil {
			return unavailable(err)
		}
		r.soldOut.Delete(tag)
	}
	return nil
}

// Forget drops this process's sold-out flags, e.g. after another replica
// rebuilt the state.
func (r *Reserver) Forget() { r.soldOut.Clear() }

// The flag's lifetime is this process's wall time, not the sale's clock: it
// bounds how stale a cached answer may be, which has nothing to do with the
// gate.
func (r *Reserver) flagged(tag string) bool {
	v, ok := r.soldOut.Load(tag)
	if !ok {
		return false
	}
	if time.Now().UnixNano() < v.(*atomic.Int64).Load() {
		return true
	}
	return false
}

func (r *Reserver) flag(tag string) {
	until := time.Now().Add(r.ttl).UnixNano()
	if v, ok := r.soldOut.Load(tag); ok {
		v.(*atomic.Int64).Store(until)
		return
	}
	c := new(atomic.Int64)
	c.Store(until)
	r.soldOut.Store(tag, c)
}

func unavailable(err error) error {
	return &errs.Error{Kind: errs.Unavailable, Code: "flash_unavailable", Message: "the flash sale is busy; try again", Err: err}
}
