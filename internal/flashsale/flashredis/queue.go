package flashredis

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/siyu-commerce/siyu/internal/flashsale"
)

// The queue of wins. The reserve script appends every win to its SKU's
// stream (<tag>:w) in the step that takes the unit, so a buyer told "won"
// is in a stream before the answer leaves Redis. The order writers of every
// replica read the streams as one consumer group: each win goes to one
// writer, stays pending until that writer's Ack (after its database commit),
// and is handed to another writer if the first dies (ClaimAfter). A writer
// restarted under the same consumer name reads its own pending wins first.
// The streams of every loaded SKU are listed in the set <prefix>streams.
//
// Reading several streams in one XREADGROUP needs them on one node: the
// queue, unlike the reservation, does not run on a Redis Cluster.

const group = "writers"

func isBusyGroup(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "BUSYGROUP") }

func isNoGroup(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOGROUP") }

// streamCache keeps the stream set for a second: a writer polls it with
// every read.
type streamCache struct {
	mu   sync.Mutex
	at   time.Time
	keys []string
}

// invalidate makes the next read ask Redis.
func (c *streamCache) invalidate() {
	c.mu.Lock()
	c.at = time.Time{}
	c.mu.Unlock()
}

func (r *Reserver) streamKeys(ctx context.Context) ([]string, error) {
	r.streams.mu.Lock()
	defer r.streams.mu.Unlock()
	if time.Since(r.streams.at) < time.Second {
		return r.streams.keys, nil
	}
	keys, err := r.rdb.SMembers(ctx, r.prefix+"streams").Result()
	if err != nil {
		return nil, unavailable(err)
	}
	r.streams.keys, r.streams.at = keys, time.Now()
	return keys, nil
}

func (r *Reserver) Wins(ctx context.Context, consumer string, max int, wait time.Duration) ([]flashsale.Win, error) {
	wins, err := r.wins(ctx, consumer, max, wait)
	if err != nil {
		// Redis may have handed wins out and lost its answer on the way
		// (a restart mid-read): they are pending under our name, so the
		// next read starts from our own pending list.
		r.mu.Lock()
		r.recovered[consumer] = false
		r.mu.Unlock()
	}
	return wins, err
}

func (r *Reserver) wins(ctx context.Context, consumer string, max int, wait time.Duration) ([]flashsale.Win, error) {
	keys, err := r.streamKeys(ctx)
	if err != nil || len(keys) == 0 {
		if err == nil {
			sleep(ctx, wait)
		}
		return nil, err
	}
	r.mu.Lock()
	// A consumer reads its own pending wins first when it has never done so
	// (a restarted process) or when wins it was given are not acknowledged
	// (a writer restarted in this process after failing mid-batch).
	recovered := r.recovered[consumer] && len(r.outstanding[consumer]) == 0
	claim := time.Since(r.lastClaim) >= r.claimAfter/4
	if claim {
		r.lastClaim = time.Now()
	}
	r.mu.Unlock()
	if !recovered {
		// Our own wins, handed to us before a restart and never acked.
		wins, err := r.read(ctx, consumer, keys, "0", max, -1)
		if err != nil || len(wins) > 0 {
			return r.handOut(consumer, wins), err
		}
		r.mu.Lock()
		r.recovered[consumer] = true
		r.mu.Unlock()
	}
	if claim {
		if wins, err := r.reclaim(ctx, consumer, keys, max); err != nil || len(wins) > 0 {
			return r.handOut(consumer, wins), err
		}
	}
	block := wait
	if block < time.Millisecond {
		block = -1 // no BLOCK: 0 would wait forever
	}
	wins, err := r.read(ctx, consumer, keys, ">", max, block)
	return r.handOut(consumer, wins), err
}

// handOut notes the wins as the consumer's until they are acknowledged.
func (r *Reserver) handOut(consumer string, wins []flashsale.Win) []flashsale.Win {
	if len(wins) == 0 {
		return wins
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.outstanding[consumer]
	if m == nil {
		m = map[string]bool{}
		r.outstanding[consumer] = m
	}
	for _, w := range wins {
		m[w.Ref] = true
	}
	return wins
}

func (r *Reserver) read(ctx context.Context, consumer string, keys []string, id string, max int, block time.Duration) ([]flashsale.Win, error) {
	streams := make([]string, 0, 2*len(keys))
	streams = append(streams, keys...)
	for range keys {
		streams = append(streams, id)
	}
	res, err := r.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: group, Consumer: consumer, Streams: streams, Count: int64(max), Block: block,
	}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil
	case isNoGroup(err):
		// A stream lost with a Redis restart: Ensure recreates it.
		r.streams.invalidate()
		return nil, nil
	case err != nil:
		return nil, unavailable(err)
	}
	var wins []flashsale.Win
	for _, s := range res {
		for _, m := range s.Messages {
			wins = append(wins, parseWin(m))
		}
	}
	return wins, nil
}

// reclaim takes over wins another consumer was given and left unacked for
// ClaimAfter: that writer died.
func (r *Reserver) reclaim(ctx context.Context, consumer string, keys []string, max int) ([]flashsale.Win, error) {
	var wins []flashsale.Win
	for _, k := range keys {
		msgs, _, err := r.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: k, Group: group, Consumer: consumer, MinIdle: r.claimAfter, Start: "0", Count: int64(max - len(wins)),
		}).Result()
		if isNoGroup(err) {
			continue
		}
		if err != nil {
			return nil, unavailable(err)
		}
		for _, m := range msgs {
			wins = append(wins, parseWin(m))
		}
		if len(wins) >= max {
			break
		}
	}
	return wins, nil
}

func parseWin(m redis.XMessage) flashsale.Win {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	qty, _ := strconv.Atoi(str("q"))
	at, _ := strconv.ParseInt(str("at"), 10, 64)
	return flashsale.Win{
		Claim: flashsale.Claim{SessionID: str("s"), SKUID: str("k"), BuyerID: str("b"), Qty: qty, Ticket: str("t"), Data: str("d")},
		At:    time.UnixMilli(at).UTC(),
		Ref:   m.ID,
	}
}

// Ack acknowledges and deletes the wins' stream entries, so the streams hold
// only what is still on its way.
func (r *Reserver) Ack(ctx context.Context, wins []flashsale.Win) error {
	byStream := map[string][]string{}
	for _, w := range wins {
		_, keys := r.keys(w.SessionID, w.SKUID)
		byStream[keys[3]] = append(byStream[keys[3]], w.Ref)
	}
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k, ids := range byStream {
			p.XAck(ctx, k, group, ids...)
			p.XDel(ctx, k, ids...)
		}
		return nil
	})
	if err != nil {
		return unavailable(err)
	}
	r.mu.Lock()
	for _, m := range r.outstanding {
		for _, w := range wins {
			delete(m, w.Ref)
		}
	}
	r.mu.Unlock()
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
