package flashredis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/flashsale/flashredis"
	"github.com/siyu-commerce/siyu/internal/flashsale/reservertest"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/testenv"
)

// flushDB is the Redis database number this suite owns: its wipe case runs
// FLUSHDB there, so nothing else may keep data in it.
const flushDB = 15

func TestRedisConformance(t *testing.T) {
	rdb := dedicatedDB(t)
	prefixes := map[flashsale.Reserver]string{}
	reservertest.Run(t, reservertest.Engine{
		New: func(t *testing.T, c clock.Clock) flashsale.Reserver {
			p := "siyu:test:" + ids.Token(4) + ":"
			r := flashredis.New(rdb, flashredis.Options{Prefix: p, Clock: c})
			prefixes[r] = p
			return r
		},
		// Another replica: its own client (its own connections) and its own
		// sold-out flags, the same keys.
		Replica: func(t *testing.T, r flashsale.Reserver, c clock.Clock) flashsale.Reserver {
			o := *rdb.Options()
			other := redis.NewClient(&o)
			t.Cleanup(func() { other.Close() })
			return flashredis.New(other, flashredis.Options{Prefix: prefixes[r], Clock: c})
		},
		// A Redis restart without persistence: every key is gone, and the
		// script cache with them (the next call must load the script again).
		Wipe: func(t *testing.T, r flashsale.Reserver, c clock.Clock) flashsale.Reserver {
			ctx := context.Background()
			if err := rdb.FlushDB(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			if err := rdb.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			return r
		},
	})
}

// dedicatedDB connects to database flushDB of SIYU_TEST_REDIS_URL's server,
// holding a lock (in the URL's own database) so two test runs on one Redis
// never flush each other's data.
func dedicatedDB(t *testing.T) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(testenv.Need(t, testenv.RedisVar))
	if err != nil {
		t.Fatalf("%s: %v", testenv.RedisVar, err)
	}
	ctx := context.Background()
	base := redis.NewClient(opt)
	t.Cleanup(func() { base.Close() })
	lock, token := "siyu:test:flashredis:db15", ids.Token(8)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ok, err := base.SetNX(ctx, lock, token, 2*time.Minute).Result()
		if err != nil {
			t.Fatalf("redis: %v", err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("redis database 15 stayed locked by another test run")
		}
		time.Sleep(100 * time.Millisecond)
	}
	o := *opt
	o.DB = flushDB
	o.PoolSize = 64
	rdb := redis.NewClient(&o)
	t.Cleanup(func() {
		_ = rdb.FlushDB(context.Background()).Err()
		rdb.Close()
		if v, _ := base.Get(context.Background(), lock).Result(); v == token {
			base.Del(context.Background(), lock)
		}
	})
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	return rdb
}

// TestDeadWriterWinsAreTakenOver: wins handed to a writer that died (another
// process: its own Reserver) are taken over by a live one once they have
// waited ClaimAfter, and not before.
func TestDeadWriterWinsAreTakenOver(t *testing.T) {
	rdb := dedicatedDB(t)
	ctx := context.Background()
	prefix := "siyu:test:" + ids.Token(4) + ":"
	c := clock.NewFake(time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC))
	dead := flashredis.New(rdb, flashredis.Options{Prefix: prefix, Clock: c, ClaimAfter: 200 * time.Millisecond})
	if err := dead.Load(ctx, flashsale.Snapshot{SessionID: "s", StartsAt: c.Now(), EndsAt: c.Now().Add(time.Hour),
		SKUs: []flashsale.SKUState{{SKUID: "sku", Quota: 10, Limit: 1}}}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		b := fmt.Sprintf("b%d", i)
		if res, err := dead.Reserve(ctx, flashsale.Claim{SessionID: "s", SKUID: "sku", BuyerID: b, Qty: 1, Ticket: b}); err != nil || res.Outcome != flashsale.Won {
			t.Fatalf("reserve: %v %v", res, err)
		}
	}
	taken, err := dead.Wins(ctx, "writer-a", 10, 0)
	if err != nil || len(taken) != 5 {
		t.Fatalf("the first writer took %d: %v", len(taken), err)
	}
	// writer-a dies here. Another process's writer finds nothing at first.
	live := flashredis.New(rdb, flashredis.Options{Prefix: prefix, Clock: c, ClaimAfter: 200 * time.Millisecond})
	if got, err := live.Wins(ctx, "writer-b", 10, 0); err != nil || len(got) != 0 {
		t.Fatalf("a live writer took %d wins still fresh with another: %v", len(got), err)
	}
	time.Sleep(250 * time.Millisecond)
	live2 := flashredis.New(rdb, flashredis.Options{Prefix: prefix, Clock: c, ClaimAfter: 200 * time.Millisecond})
	got, err := live2.Wins(ctx, "writer-b", 10, 0)
	if err != nil || len(got) != 5 {
		t.Fatalf("after ClaimAfter the live writer took %d: %v", len(got), err)
	}
	if err := live2.Ack(ctx, got); err != nil {
		t.Fatal(err)
	}
	if rest, err := live2.Wins(ctx, "writer-c", 10, 0); err != nil || len(rest) != 0 {
		t.Fatalf("%d acknowledged wins came back: %v", len(rest), err)
	}
}
