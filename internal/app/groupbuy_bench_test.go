package app_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/groupbuy"
)

// The team-join benchmarks: groupbuy.Service.Join as the API calls it.
// One join reads the team and its activity, prices the seat, reads the
// buyer's address and the SKU, and in one transaction takes the seat with
// a conditional update of the team row, inserts the seat, claims the
// buyer's units, inserts the order, its line, event and close job,
// reserves the stock and claims the activity's quota.
//
//	go test ./internal/app/ -run '^$' -bench GroupBuyJoin -benchtime 5s -count 3
//	SIYU_TEST_DATABASE_URL=postgres://... go test ./internal/app/ -run '^$' -bench GroupBuyJoin -benchtime 5s -count 3
//
// "teams": every join takes a seat of one of many open teams of 5 (four
// joins fill one, spread over the run; all teams sell the same SKU, so they
// share its stock row and the activity's quota row). "hot": every join goes at one team of 5:
// four take its seats, every other is refused team_full. Both report
// joins/s (every answer, refusals included), seats/s (joins that took a
// seat), and check afterwards that no team holds more seats than its size.
// Results and the machine are in docs/benchmarks.md.

const gbBenchBuyers = 128

type gbBench struct {
	shop   *gbShop
	buyers []gbBuyer
	teams  []string
}

func newGBBench(b *testing.B, engine apptest.Engine, teams int) *gbBench {
	b.Helper()
	s := newGBShop(b, engine, func(in *groupbuy.ActivityInput) {
		in.TeamSize, in.PerBuyerLimit, in.TeamHours = 5, 99, 72
		in.Items[0].Quota = 1_000_000
		in.Items[0].Tiers = []groupbuy.Tier{{Size: 2, Price: 1899}, {Size: 3, Price: 1799}, {Size: 4, Price: 1699}, {Size: 5, Price: 1599}}
	})
	bb := &gbBench{shop: s, buyers: s.buyers(b, gbBenchBuyers)}
	// Open the teams as the leaders' payments would (the payment path is
	// not what is measured): each leader opens one, and the team is opened
	// in its store, expiring in three days.
	leaders := s.buyers(b, min(teams, 64))
	ctx := context.Background()
	now := s.app.Clock.Now()
	for i := range teams {
		t, _, err := s.open(ctx, leaders[i%len(leaders)])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.app.Store.UpdateTeam(ctx, t.ID, func(t *groupbuy.Team, seats []groupbuy.Seat) (groupbuy.TeamChange, error) {
			exp := now.Add(72 * time.Hour)
			t.Status, t.ExpiresAt, t.OpenedAt, t.Paid = groupbuy.TeamOpen, &exp, &now, 1
			seats[0].State, seats[0].PaidAt = groupbuy.SeatPaid, &now
			return groupbuy.TeamChange{}, nil
		}); err != nil {
			b.Fatal(err)
		}
		bb.teams = append(bb.teams, t.ID)
	}
	if engine == apptest.Postgres {
		// Warm every pooled connection, and leave no dirty pages for a
		// checkpoint to write during the measurement (as BenchmarkPlaceOrder).
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() { _, _ = s.app.Store.Team(ctx, bb.teams[0]) })
		}
		wg.Wait()
		conn, err := pgx.Connect(ctx, s.app.Config.DatabaseURL)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
			b.Fatal(err)
		}
	}
	return bb
}

func BenchmarkGroupBuyJoin(b *testing.B) {
	for _, engine := range apptest.Engines() {
		for _, hot := range []bool{false, true} {
			name := fmt.Sprintf("%s/teams", engine)
			if hot {
				name = fmt.Sprintf("%s/hot", engine)
			}
			b.Run(name, func(b *testing.B) {
				teams := b.N/4 + 1
				if hot {
					teams = 1
				}
				bb := newGBBench(b, engine, teams)
				ctx := context.Background()
				var next, seated, refused atomic.Int64
				var mu sync.Mutex
				lat := make([]time.Duration, 0, b.N)
				b.SetParallelism(16) // x GOMAXPROCS(2) = 32 concurrent buyers
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					var mine []time.Duration
					for pb.Next() {
						// Join k goes to team k mod T, the j-th join of that
						// team (j = k / T) by buyer 4t+j: the joins of one team
						// come a whole round of teams apart, as joins through
						// share links do, by four different buyers. Hot: every
						// join goes at the one team.
						k := int(next.Add(1) - 1)
						t, j := k%len(bb.teams), k/len(bb.teams)
						buyer := bb.buyers[(4*t+j)%gbBenchBuyers]
						if hot {
							buyer = bb.buyers[k%gbBenchBuyers]
						}
						t0 := time.Now()
						_, _, err := bb.shop.join(ctx, bb.teams[t], buyer)
						mine = append(mine, time.Since(t0))
						switch e, _ := errs.As(err); {
						case err == nil:
							seated.Add(1)
						case e != nil && (e.Code == groupbuy.ErrTeamFull.Code || e.Code == groupbuy.ErrTeamBusy.Code):
							refused.Add(1)
						default:
							b.Error(err)
							return
						}
					}
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
				})
				elapsed := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "joins/s")
				b.ReportMetric(float64(seated.Load())/elapsed.Seconds(), "seats/s")
				b.ReportMetric(float64(refused.Load()), "refused")
				gbPercentiles(b, lat)
				bb.noOversold(b, seated.Load())
			})
		}
	}
}

// noOversold checks every team against its size, and that the seats the
// joins got are the seats the teams hold.
func (bb *gbBench) noOversold(b *testing.B, seated int64) {
	b.Helper()
	ctx := context.Background()
	var held int64
	f := groupbuy.TeamFilter{ActivityID: bb.shop.activity.ID, Limit: groupbuy.MaxLimit}
	for {
		page, err := bb.shop.app.Store.Teams(ctx, f)
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range page.Teams {
			if t.Taken > t.Capacity {
				b.Fatalf("team %s holds %d seats of %d", t.ID, t.Taken, t.Capacity)
			}
			held += int64(t.Taken - 1) // the leader's seat was not a join
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	if held != seated {
		b.Fatalf("the teams hold %d members; %d joins took a seat", held, seated)
	}
}

func gbPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}
