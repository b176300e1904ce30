// Package flashredis is the flash sale's Reserver on Redis, for replicas that
// share one Redis (SIYU_REDIS_URL). A reservation is one EVALSHA of one Lua
// script, which Redis runs alone: the gate, the units left and the buyer's
// count are checked and taken together, so no two replicas can sell the same
// unit and no buyer can pass the limit, whatever the load.
//
// Keys. A session SKU is four keys sharing the hash tag {session:sku}, so a
// Redis Cluster keeps them on one slot (a script may only touch one slot),
// while different SKUs spread over the cluster:
//
//	<prefix>{<session>:<sku>}:s   left, limit, start, end (unix ms)
//	<prefix>{<session>:<sku>}:b   buyer id -> units held
//	<prefix>{<session>:<sku>}:t   won ticket -> "qty buyer" (repeats, releases)
//	<prefix>{<session>:<sku>}:w   stream of wins for the order writers (queue.go)
//
// Persistence. The state and the queue live in the same Redis and are saved
// together, so whatever a restart brings back is consistent with itself:
//   - AOF with appendfsync always (recommended): a restart loses nothing;
//     every win answered is in the stream and reaches the database.
//   - No persistence: a restart empties both; the script finds no state and
//     answers not_open until Ensure rebuilds it from the database, and the
//     wins still in the stream are lost with it (their buyers were told they
//     won: with this setting a Redis restart costs those orders).
//   - Snapshots or AOF everysec: a restart may bring back a state older than
//     wins already written; the units would be winnable again, and the order
//     writer's transaction (which checks the quota and the buyer's limit in
//     the database) refuses the second sale. Nothing is oversold, but a buyer
//     told "won" in that window can be refused.
//
// And always maxmemory-policy noeviction: an evicted state key would look
// like a restart.
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

// ReserveSource is the reserve script's text: siyu rush runs the very same
// script under redis-benchmark to measure Redis's own ceiling.
func ReserveSource() string { return reserveSrc }

//go:embed load.lua
var loadSrc string

// The scripts are loaded once (SCRIPT LOAD at the first call) and run by
// SHA afterwards; redis.Script falls back to EVAL if Redis lost its script
// cache, e.g. after a restart.
var (
	reserveScript = redis.NewScript(reserveSrc)
	releaseScript = redis.NewScript(releaseSrc)
	loadScript    = redis.NewScript(loadSrc)
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
	// ClaimAfter is how long a win may stay handed to a consumer without
	// an Ack before another consumer takes it over (the first one died);
	// DefaultClaimAfter when 0.
	ClaimAfter time.Duration
}

// DefaultClaimAfter is far above a batch's write time, so a live writer's
// batch is never taken from it.
const DefaultClaimAfter = 30 * time.Second

// Reserver decides on Redis. Safe for concurrent use.
type Reserver struct {
	rdb     redis.UniversalClient
	prefix  string
	ttl     time.Duration
	clock   clock.Clock
	soldOut sync.Map // key string -> *atomic.Int64 (flag valid until, unix ns)

	claimAfter  time.Duration
	streams     streamCache
	mu          sync.Mutex
	recovered   map[string]bool            // consumers whose own pending wins were read back
	outstanding map[string]map[string]bool // consumer -> refs handed out, not acknowledged
	lastClaim   time.Time
}

var _ flashsale.Reserver = (*Reserver)(nil)

// New returns a Reserver on rdb.
func New(rdb redis.UniversalClient, o Options) *Reserver {
	r := &Reserver{rdb: rdb, prefix: o.Prefix, ttl: o.SoldOutTTL, clock: o.Clock, claimAfter: o.ClaimAfter,
		recovered: map[string]bool{}, outstanding: map[string]map[string]bool{}}
	if r.claimAfter == 0 {
		r.claimAfter = DefaultClaimAfter
	}
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

// keys returns the keys of a session SKU: state, buyers, tickets, wins.
func (r *Reserver) keys(sessionID, skuID string) (tag string, keys []string) {
	tag = r.prefix + "{" + sessionID + ":" + skuID + "}"
	return tag, []string{tag + ":s", tag + ":b", tag + ":t", tag + ":w"}
}

// Script answers, first element.
const (
	codeWon = iota
	codeSoldOut
	codeLimit
	codeNotOpen
	codeEnded
	codeRepeat
)

var outcomes = map[int64]flashsale.Outcome{
	codeWon: flashsale.Won, codeSoldOut: flashsale.SoldOut, codeLimit: flashsale.LimitReached,
	codeNotOpen: flashsale.NotOpen, codeEnded: flashsale.Ended, codeRepeat: flashsale.Won,
}

func (r *Reserver) Reserve(ctx context.Context, c flashsale.Claim) (flashsale.Result, error) {
	if err := c.Check(); err != nil {
		return flashsale.Result{}, err
	}
	tag, keys := r.keys(c.SessionID, c.SKUID)
	if r.ttl > 0 && r.flagged(tag) {
		return flashsale.Result{Outcome: flashsale.SoldOut}, nil
	}
	now := r.clock.Now().UnixMilli()
	v, err := reserveScript.Run(ctx, r.rdb, keys, c.BuyerID, c.Qty, now, c.Ticket, c.SessionID, c.SKUID, c.Data).Int64Slice()
	if err != nil {
		return flashsale.Result{}, unavailable(err)
	}
	if len(v) != 3 {
		return flashsale.Result{}, fmt.Errorf("flashredis: reserve script answered %v", v)
	}
	out, ok := outcomes[v[0]]
	if !ok {
		return flashsale.Result{}, fmt.Errorf("flashredis: reserve script answered code %d", v[0])
	}
	res := flashsale.Result{Outcome: out, Left: int(v[1]), Held: int(v[2]), Repeat: v[0] == codeRepeat}
	// Only an empty pool raises the flag: "2 asked, 1 left" must not turn
	// away the buyer who asks for 1.
	if r.ttl > 0 && res.Left == 0 && (res.Outcome == flashsale.SoldOut || res.Outcome == flashsale.Won) {
		r.flag(tag)
	}
	return res, nil
}

func (r *Reserver) Release(ctx context.Context, sessionID, skuID, ticket string) error {
	tag, keys := r.keys(sessionID, skuID)
	n, err := releaseScript.Run(ctx, r.rdb, keys[:3], ticket).Int64()
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
// sees either the old state or the new one, never half of it. The queue of
// wins is left alone: what it holds is on its way to the database.
func (r *Reserver) Load(ctx context.Context, snap flashsale.Snapshot) error {
	return r.load(ctx, snap, false, nil)
}

// Ensure loads, in one script per SKU, the SKUs whose state key is absent.
func (r *Reserver) Ensure(ctx context.Context, snap flashsale.Snapshot) (int, error) {
	n := 0
	err := r.load(ctx, snap, true, &n)
	return n, err
}

func (r *Reserver) load(ctx context.Context, snap flashsale.Snapshot, onlyAbsent bool, loaded *int) error {
	if err := snap.Validate(); err != nil {
		return err
	}
	for _, k := range snap.SKUs {
		tag, keys := r.keys(snap.SessionID, k.SKUID)
		args := []any{k.Left(), k.Limit, snap.StartsAt.UnixMilli(), snap.EndsAt.UnixMilli(), onlyAbsent}
		for b, h := range k.Held() {
			args = append(args, "b", b, h)
		}
		for _, h := range k.Holds {
			args = append(args, "t", h.Ticket, fmt.Sprintf("%d %s", h.Qty, h.BuyerID))
		}
		done, err := loadScript.Run(ctx, r.rdb, keys[:3], args...).Int()
		if err != nil {
			return unavailable(err)
		}
		if err := r.rdb.XGroupCreateMkStream(ctx, keys[3], group, "0").Err(); err != nil && !isBusyGroup(err) {
			return unavailable(err)
		}
		if err := r.rdb.SAdd(ctx, r.prefix+"streams", keys[3]).Err(); err != nil {
			return unavailable(err)
		}
		r.streams.invalidate()
		r.soldOut.Delete(tag)
		if loaded != nil {
			*loaded += done
		}
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
