package flashsale_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/flashsale/flashredis"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/testenv"
	"github.com/siyu-commerce/siyu/internal/store/postgres/pgtest"
)

// clients is how many buyers press at once in the networked cases, per
// GOMAXPROCS (b.SetParallelism): enough to keep PostgreSQL's and Redis's
// queues full on a small machine.
const clients = 16

// BenchmarkReserve holds the designs side by side on one hot SKU, every
// request from a new buyer (limit 2, 1 unit). The selling cases get a quota
// above b.N, so they measure winning; the -soldout cases measure what every
// request costs once the SKU is gone. Run with:
//
//	SIYU_TEST_DATABASE_URL=... SIYU_TEST_REDIS_URL=... \
//	  go test -run '^$' -bench BenchmarkReserve -benchtime 3s -count 3 ./internal/flashsale/
func BenchmarkReserve(b *testing.B) {
	ctx := context.Background()
	var (
		pgOnce sync.Once
		pool   *pgxpool.Pool
		rOnce  sync.Once
		rdb    *redis.Client
	)
	pg := func(sb *testing.B) *pgxpool.Pool {
		testenv.Need(sb, testenv.PostgresVar)
		pgOnce.Do(func() {
			url := pgtest.NewDatabase(b)
			cfg, err := pgxpool.ParseConfig(url)
			if err != nil {
				b.Fatal(err)
			}
			cfg.MaxConns = int32(clients * 2)
			if pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(pool.Close)
			if _, err := pool.Exec(ctx, pgSchema); err != nil {
				b.Fatal(err)
			}
		})
		return pool
	}
	red := func(sb *testing.B) *redis.Client {
		url := testenv.Need(sb, testenv.RedisVar)
		rOnce.Do(func() {
			opt, err := redis.ParseURL(url)
			if err != nil {
				b.Fatal(err)
			}
			opt.PoolSize = clients * 4
			rdb = redis.NewClient(opt)
			b.Cleanup(func() { rdb.Close() })
		})
		return rdb
	}

	b.Run("mem-atomic", func(b *testing.B) {
		r := flashsale.NewMemory(nil)
		benchReserver(b, r, quota(b), 0)
	})
	b.Run("pg-forupdate", func(b *testing.B) {
		db := pg(b)
		s := pgSession(b, db, quota(b))
		benchFunc(b, clients, func(buyer string) (flashsale.Outcome, error) {
			return pgForUpdate(ctx, db, s, "sku", buyer, 1)
		})
	})
	b.Run("pg-atomic", func(b *testing.B) {
		db := pg(b)
		s := pgSession(b, db, quota(b))
		benchFunc(b, clients, func(buyer string) (flashsale.Outcome, error) {
			return pgAtomic(ctx, db, s, "sku", buyer, 1, 2)
		})
	})
	for _, c := range []struct {
		name    string
		ttl     time.Duration
		soldOut bool
	}{
		{"redis-lua", -1, false},
		{"redis-lua+flag", 0, false},
		{"redis-lua-soldout", -1, true},
		{"redis-lua+flag-soldout", 0, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			rdb := red(b)
			prefix := "siyu:bench:" + ids.Token(4) + ":"
			b.Cleanup(func() { deletePrefix(rdb, prefix) })
			r := flashredis.New(rdb, flashredis.Options{Prefix: prefix, SoldOutTTL: c.ttl})
			q := quota(b)
			if c.soldOut {
				q = 0
			}
			benchReserver(b, r, q, clients)
		})
	}
}

// quota is more than the run can sell.
func quota(b *testing.B) int { return min(b.N+1, math.MaxInt32) }

var buyerSeq atomic.Int64

func nextBuyer() string { return fmt.Sprintf("u%d", buyerSeq.Add(1)) }

// benchReserver loads a session of quota units of one SKU and reserves.
func benchReserver(b *testing.B, r flashsale.Reserver, quota, parallelism int) {
	ctx := context.Background()
	s := "bench-" + ids.Token(6)
	now := time.Now()
	err := r.Load(ctx, flashsale.Snapshot{
		SessionID: s, StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour),
		SKUs: []flashsale.SKUState{{SKUID: "sku", Quota: quota, Limit: 2}},
	})
	if err != nil {
		b.Fatal(err)
	}
	// The queue is drained beside the rush, as the order writer does.
	drainCtx, stop := context.WithCancel(ctx)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for drainCtx.Err() == nil {
			if wins, err := r.Wins(drainCtx, "bench", 1000, 10*time.Millisecond); err == nil && len(wins) > 0 {
				_ = r.Ack(ctx, wins)
			}
		}
	}()
	defer func() { stop(); <-drained }()
	benchFunc(b, parallelism, func(buyer string) (flashsale.Outcome, error) {
		res, err := r.Reserve(ctx, flashsale.Claim{SessionID: s, SKUID: "sku", BuyerID: buyer, Qty: 1, Ticket: buyer})
		return res.Outcome, err
	})
}

// benchFunc runs reserve from many goroutines and reports reserves/s, and
// fails the run if a selling case lost or a sold-out case won.
func benchFunc(b *testing.B, parallelism int, reserve func(buyer string) (flashsale.Outcome, error)) {
	var won, lost atomic.Int64
	if parallelism > 0 {
		b.SetParallelism(parallelism)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			o, err := reserve(nextBuyer())
			if err != nil {
				b.Error(err)
				return
			}
			if o == flashsale.Won {
				won.Add(1)
			} else {
				lost.Add(1)
			}
		}
	})
	b.StopTimer()
	if won.Load() > 0 && lost.Load() > 0 {
		b.Fatalf("%d won and %d lost: a case either sells or is sold out", won.Load(), lost.Load())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reserves/s")
}

// pgSession creates a stock row of quota units.
func pgSession(b *testing.B, db *pgxpool.Pool, quota int) string {
	s := "bench-" + ids.Token(6)
	if _, err := db.Exec(context.Background(),
		`INSERT INTO bench_flash_stock (session_id, sku_id, left_units, per_buyer) VALUES ($1, 'sku', $2, 2)`,
		s, quota); err != nil {
		b.Fatal(err)
	}
	return s
}

func deletePrefix(rdb *redis.Client, prefix string) {
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}
