package app_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/bargain"
)

// The help benchmarks: helps a second through bargain.Service.Help as the
// API calls it (the helper's account read, then one transaction that
// serialises the helper, counts the helper's, device's and address's recent
// helps, locks the bargain, reads its helps by new accounts, and writes the
// help, the bargain and the bargain.helped event), 32 helpers at once.
//
//	go test ./internal/app/ -run '^$' -bench BargainHelp -benchtime 5s -count 3
//	SIYU_TEST_DATABASE_URL=postgres://... go test ./internal/app/ -run '^$' -bench BargainHelp -benchtime 5s -count 3
//
// "hot": every helper on the same bargain of 100 slots, the next one once
// it is full (so at most two bargains take helps at any moment); "spread":
// each help on another bargain of many. Results are in docs/benchmarks.md.

const benchSlots = 100

func BenchmarkBargainHelp(b *testing.B) {
	for _, engine := range apptest.Engines() {
		for _, hot := range []bool{true, false} {
			name := string(engine) + "/spread"
			if hot {
				name = string(engine) + "/hot"
			}
			b.Run(name, func(b *testing.B) { benchHelps(b, engine, hot) })
		}
	}
}

func benchHelps(b *testing.B, engine apptest.Engine, hot bool) {
	s := newBargainShop(b, engine, nil)
	ctx := context.Background()
	// The limits would stop 100 helpers helping thousands of bargains a
	// minute: lifted, so the rules' reads and the writes are measured, not
	// refusals.
	const lots = 1 << 30
	s.app.Bargains.Config = bargain.Config{DailyCap: lots, HelperRate: lots, DeviceRate: lots, IPRate: lots,
		DeviceBargains: lots, DeviceHelpers: lots}
	helpers := s.buyers(b, benchSlots)
	// Spread: help i goes to bargain i mod m, by helper (i/m + i) mod 100:
	// with m+1 prime to 100 each bargain's helpers are distinct, and helps
	// in flight together have distinct helpers.
	m := b.N/benchSlots + 2
	if !hot {
		m = max(m, 64)
		for m%2 != 0 || (m+1)%5 == 0 {
			m++
		}
	}
	initiators := s.buyers(b, m+1)
	s.app.Clock.Advance(8 * 24 * time.Hour)
	act := s.activity(b, func(in *bargain.ActivityInput) {
		in.Helpers, in.Quota, in.PerBuyerLimit = benchSlots, 1_000_000, bargainPtr(1)
	})
	bargains := make([]*bargain.Bargain, m+1)
	for i := range bargains {
		var err error
		if bargains[i], err = s.app.Bargains.Open(ctx, initiators[i].id, act.ID); err != nil {
			b.Fatal(err)
		}
	}
	help := func(bg *bargain.Bargain, h int) error {
		_, _, err := s.help(bg, helpers[h], fmt.Sprintf("dev-%d", h), fmt.Sprintf("10.2.%d.%d", h/250, h%250))
		return err
	}
	// Warm up on the spare bargain: every pooled connection open, every
	// statement prepared.
	var wg sync.WaitGroup
	for h := range 32 {
		wg.Go(func() {
			if err := help(bargains[m], h); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	if engine == apptest.Postgres {
		conn, err := pgx.Connect(ctx, s.app.Config.DatabaseURL)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
			b.Fatal(err)
		}
	}

	var next atomic.Int64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.SetParallelism(16) // x GOMAXPROCS(2) = 32 helpers at once
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			i := int(next.Add(1) - 1)
			bg, h := bargains[i/benchSlots], i%benchSlots
			if !hot {
				bg, h = bargains[i%m], (i/m+i)%benchSlots
			}
			t0 := time.Now()
			if err := help(bg, h); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "helps/s")
	reportPercentiles(b, lat)

	// Every help took a slot: none lost, none twice.
	page, err := s.app.Bargains.Bargains(ctx, bargain.BargainFilter{ActivityID: act.ID, Limit: 100})
	if err != nil {
		b.Fatal(err)
	}
	cuts := 0
	for f := (bargain.BargainFilter{ActivityID: act.ID, Limit: 100}); ; {
		for _, bg := range page.Bargains {
			cuts += bg.Cuts
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
		if page, err = s.app.Bargains.Bargains(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
	if cuts != b.N+32 {
		b.Fatalf("%d cuts after %d helps", cuts, b.N+32)
	}
}
