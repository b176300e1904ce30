package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/siyu-commerce/siyu/internal/crm"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/seal"
	"github.com/siyu-commerce/siyu/internal/store/postgres"
	"github.com/siyu-commerce/siyu/internal/store/postgres/pgtest"
)

// BenchmarkCRMRecompute times a complete recompute (profiles, layers, RFM
// in SQL; 20 segments in Go) over N buyers with about 10N paid orders
// (1 to 19 each), logins for a fifth of them and a default address each.
// N is SIYU_BENCH_CRM_BUYERS (default 10000); issue 7's goal is 1,000,000
// buyers and 10,000,000 orders in under 60 s. Run:
//
//	SIYU_TEST_DATABASE_URL=postgres://... SIYU_BENCH_CRM_BUYERS=100000 \
//	  go test ./internal/store/postgres -run '^$' -bench CRMRecompute -benchtime 3x
func BenchmarkCRMRecompute(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("SIYU_BENCH_CRM_BUYERS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	url := pgtest.NewDatabase(b)
	sealer, _ := seal.New(bytes.Repeat([]byte{1}, 32))
	s, err := postgres.Open(ctx, url, sealer)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	start := time.Now()
	orders := generateCRM(b, pool, n, now)
	b.Logf("generated %d buyers, %d orders in %s", n, orders, time.Since(start).Round(time.Millisecond))

	svc := &crm.Service{Store: s, Clock: clock.NewFake(now)}
	for i, e := range crmBenchSegments {
		if _, err := svc.CreateSegment(ctx, crm.NewSegment{Name: fmt.Sprintf("s%02d", i), Expr: e, Tag: i < 2}); err != nil {
			b.Fatal(err)
		}
	}
	// The SQL part alone, once, so the report can split the time.
	t0 := time.Now()
	if _, err := s.RecomputeCRM(ctx, crm.DefaultRules, now, ""); err != nil {
		b.Fatal(err)
	}
	b.Logf("profiles, layers and RFM in SQL: %s", time.Since(t0).Round(time.Millisecond))
	b.ResetTimer()
	for range b.N {
		res, err := svc.Recompute(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Profiles), "profiles")
	}
}

// crmBenchSegments are 20 segments of the kinds operators write (the
// first two are rule tags).
var crmBenchSegments = []string{
	`rfm.m == 5 && rfm.f >= 4`,
	`days_since_last_order > 180`,
	`layer == "silent" && rfm.m >= 4 && city == "杭州市"`,
	`layer == "loyal"`,
	`layer == "active" && total_spent > 100000`,
	`cell == "champions"`,
	`cell in ["at_risk", "cant_lose"]`,
	`"s00" in tags && city != "上海市"`,
	`order_count >= 10 && days_since_last_order < 30`,
	`rfm.r <= 2 && rfm.f >= 3`,
	`city in ["北京市", "上海市"] && rfm.m >= 3`,
	`days_since_signup < 30`,
	`visit_days >= 3`,
	`total_spent >= 500000`,
	`layer == "new"`,
	`rfm.r + rfm.f + rfm.m >= 12`,
	`"s01" in tags`,
	`order_count == 1`,
	`days_since_login > 60 && total_spent > 0`,
	`layer != "other" && city == "广州市"`,
}

// generateCRM writes the data with set-based SQL: rows born in the
// database, not sent from Go.
func generateCRM(b *testing.B, pool *pgxpool.Pool, n int, now time.Time) int64 {
	ctx := context.Background()
	steps := []string{
		`INSERT INTO buyers (id, openid, created_at, last_login_at)
		 SELECT gen_random_uuid(), 'bench-' || g, $1::timestamptz - (g % 700) * interval '1 day',
		        $1::timestamptz - (g % 90) * interval '1 day'
		 FROM generate_series(1, $2::int) g`,
		`CREATE TEMP TABLE bench_buyers AS SELECT id, row_number() OVER (ORDER BY id) AS rn FROM buyers`,
		`INSERT INTO addresses (id, buyer_id, name, phone, province, city, district, detail, is_default, created_at, updated_at)
		 SELECT gen_random_uuid(), id, 'x', 'x', 'p', (ARRAY['杭州市','上海市','北京市','广州市','成都市'])[1 + rn % 5], 'd', 'x', true, $1, $1
		 FROM bench_buyers`,
		`INSERT INTO orders (id, buyer_id, status, subtotal, discount, shipping, total, ship_to, pay_by, paid_at, created_at, updated_at)
		 SELECT gen_random_uuid(), b.id, 'completed', x.t, 0, 0, x.t, '', x.p, x.p, x.p, x.p
		 FROM bench_buyers b, generate_series(1, 1 + (b.rn % 19)::int) k,
		      LATERAL (SELECT (1000 + ((b.rn * 7 + k * 13) % 90000))::bigint AS t,
		                      $1::timestamptz - ((b.rn * 31 + k * 97) % 500) * interval '1 day' AS p) x`,
		`INSERT INTO sessions (id, token_hash, kind, subject_id, created_at, expires_at)
		 SELECT gen_random_uuid(), md5(b.id::text || k), 'buyer', b.id, $1::timestamptz - ((b.rn + k * 5) % 30) * interval '1 day', $1
		 FROM bench_buyers b, generate_series(1, 6) k WHERE b.rn % 5 = 0`,
		`ANALYZE`,
	}
	for i, q := range steps {
		var err error
		switch i {
		case 0:
			_, err = pool.Exec(ctx, q, now, n)
		case 1, 5:
			_, err = pool.Exec(ctx, q)
		default:
			_, err = pool.Exec(ctx, q, now)
		}
		if err != nil {
			b.Fatalf("generate step %d: %v", i, err)
		}
	}
	var orders int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM orders`).Scan(&orders); err != nil {
		b.Fatal(err)
	}
	return orders
}
