package flashredis_test

import (
	"context"
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
