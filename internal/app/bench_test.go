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
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
)

// The order-placement benchmarks: 3 lines per order, each reserving stock,
// with the order, its lines, the journal, the outbox event and the close job
// written in one transaction, through order.Service as the API calls it.
//
//	go test ./internal/app/ -run '^$' -bench PlaceOrder -benchtime 5s
//	SIYU_TEST_DATABASE_URL=postgres://... go test ./internal/app/ -run '^$' -bench PlaceOrder -benchtime 5s
//
// Results and the machine are in docs/benchmarks.md.

const benchBuyers = 32

type benchShop struct {
	app    *apptest.App
	buyers []benchBuyer
	skus   []string // 3 per buyer
}

type benchBuyer struct{ id, address string }

func newBenchShop(b *testing.B, engine apptest.Engine) *benchShop {
	b.Helper()
	a := apptest.New(b, engine, nil)
	ctx := context.Background()
	cat, err := a.Catalog.CreateCategory(ctx, catalog.NewCategory{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	s := &benchShop{app: a}
	for i := 0; i < benchBuyers; i++ {
		in := catalog.NewProduct{CategoryID: cat.ID, Title: fmt.Sprintf("bench %d", i), Status: catalog.OnSale}
		for j := 0; j < 3; j++ {
			in.SKUs = append(in.SKUs, catalog.NewSKU{
				Specs:     []catalog.Spec{{Name: "n", Value: fmt.Sprint(j)}},
				ListPrice: money.Fen(1000 + 100*j), SalePrice: money.Fen(900 + 100*j),
			})
		}
		p, err := a.Catalog.CreateProduct(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range p.SKUs {
			if _, err := a.Inventory.Adjust(ctx, k.ID, inventory.Online, 1_000_000, inventory.Receive, "bench"); err != nil {
				b.Fatal(err)
			}
			s.skus = append(s.skus, k.ID)
		}
		_, buyer, _, err := a.Identity.Login(ctx, fmt.Sprintf("bench%d.%d", i, time.Now().UnixNano()))
		if err != nil {
			b.Fatal(err)
		}
		addr, err := a.Identity.CreateAddress(ctx, buyer.ID, identity.AddressInput{
			Name: "买家", Phone: "13800000000", Province: "浙江省", City: "杭州市", District: "西湖区", Detail: "文三路 1 号",
		})
		if err != nil {
			b.Fatal(err)
		}
		s.buyers = append(s.buyers, benchBuyer{buyer.ID, addr.ID})
	}
	// Warm up as a running server would be: every pooled connection open,
	// every statement prepared on it. Without this the first 150 ms of a
	// run measure connection set-up, not orders.
	var wg sync.WaitGroup
	for i := range s.buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 4; k++ {
				if err := s.place(ctx, i, false); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if engine == apptest.Postgres {
		// Creating the database and the shop leaves dirty pages that a
		// checkpoint would otherwise write during the measurement.
		conn, err := pgx.Connect(ctx, a.Config.DatabaseURL)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// place places one 3-line order for buyer i; hot puts every buyer on the
// first buyer's SKUs.
func (s *benchShop) place(ctx context.Context, i int, hot bool) error {
	k := i
	if hot {
		k = 0
	}
	lines := []order.LineInput{{SKUID: s.skus[3*k], Qty: 1}, {SKUID: s.skus[3*k+1], Qty: 1}, {SKUID: s.skus[3*k+2], Qty: 1}}
	_, err := s.app.Orders.Place(ctx, order.PlaceInput{BuyerID: s.buyers[i].id, Lines: lines, AddressID: s.buyers[i].address})
	return err
}

func BenchmarkPlaceOrder(b *testing.B) {
	for _, engine := range apptest.Engines() {
		for _, hot := range []bool{false, true} {
			name := fmt.Sprintf("%s/distinct", engine)
			if hot {
				name = fmt.Sprintf("%s/hot", engine)
			}
			b.Run(name, func(b *testing.B) {
				s := newBenchShop(b, engine)
				ctx := context.Background()
				var next atomic.Int64
				var mu sync.Mutex
				lat := make([]time.Duration, 0, b.N)
				b.ReportAllocs()
				b.SetParallelism((benchBuyers + 1) / 2) // x GOMAXPROCS(2) = 32 concurrent buyers
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					i := int(next.Add(1)-1) % benchBuyers
					var mine []time.Duration
					for pb.Next() {
						t0 := time.Now()
						if err := s.place(ctx, i, hot); err != nil {
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
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "orders/s")
				reportPercentiles(b, lat)
			})
		}
	}
}

// BenchmarkPlaceOrderAt500 offers a fixed 500 orders/s (open loop: each
// order starts at its scheduled time whatever the previous ones did, and its
// latency counts from that time) for 5 seconds and reports the percentiles.
// b.N is ignored beyond the first run: the load is fixed in time.
func BenchmarkPlaceOrderAt500(b *testing.B) {
	for _, engine := range apptest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			s := newBenchShop(b, engine)
			ctx := context.Background()
			const rate, dur = 500, 5 * time.Second
			total := int(rate * dur / time.Second)
			interval := time.Second / rate
			lat := make([]time.Duration, total)
			var failed atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for n := 0; n < total; n++ {
				due := start.Add(time.Duration(n) * interval)
				time.Sleep(time.Until(due))
				wg.Add(1)
				go func(n int) {
					defer wg.Done()
					if err := s.place(ctx, n%benchBuyers, false); err != nil {
						failed.Add(1)
					}
					lat[n] = time.Since(due)
				}(n)
			}
			wg.Wait()
			b.StopTimer()
			if f := failed.Load(); f > 0 {
				b.Fatalf("%d orders failed", f)
			}
			b.ReportMetric(float64(total)/time.Since(start).Seconds(), "orders/s")
			reportPercentiles(b, lat)
		})
	}
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
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
