package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/seal"
	"github.com/siyu-commerce/siyu/internal/pricing"
	"github.com/siyu-commerce/siyu/internal/store/postgres"
	"github.com/siyu-commerce/siyu/internal/store/postgres/pgtest"
)

// flashBatch is the order writer's batch size the benchmark writes.
const flashBatch = 1000

// BenchmarkWriteFlashWins measures the flash sale's order writer: batches
// of 1000 wins of one hot SKU, each its order (one line, sealed ship-to),
// event, close job and reservation, in one transaction. A session sells
// out in seconds and its winners wait for their orders: 10,000 winners
// should be written in well under 2 s. With two writers (two replicas),
// batches of the same SKU queue on its row lock.
//
// Besides the time, it reports the CPU the writer's process and the
// database's backends spent per 10,000 wins (read from /proc, when the
// database runs on this machine): on a machine shared with other work the
// time measures the neighbours as much as the writer, the CPU does not.
//
//	SIYU_TEST_DATABASE_URL=... go test ./internal/store/postgres -run '^$' -bench WriteFlashWins -benchtime 10x
func BenchmarkWriteFlashWins(b *testing.B) {
	for _, writers := range []int{1, 2} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) { benchWriteFlashWins(b, writers) })
	}
}

func benchWriteFlashWins(b *testing.B, writers int) {
	ctx := context.Background()
	url := pgtest.NewDatabase(b)
	sealer, err := seal.New(bytes.Repeat([]byte{1}, 32))
	failB(b, err)
	s, err := postgres.Open(ctx, url, sealer)
	failB(b, err)
	b.Cleanup(func() { s.Close() })
	_, err = s.Migrate(ctx)
	failB(b, err)
	admin, err := pgx.Connect(ctx, url)
	failB(b, err)
	b.Cleanup(func() { admin.Close(context.Background()) })

	now := time.Now().UTC().Truncate(time.Microsecond)
	sku := benchSKU(b, s, now)
	fs := &flashsale.Session{ID: ids.New(), Name: "bench", StartsAt: now, EndsAt: now.Add(time.Hour),
		PayWindow: 15 * time.Minute, Status: flashsale.Scheduled, CreatedAt: now, UpdatedAt: now,
		SKUs: []flashsale.SessionSKU{{SKUID: sku.ID, Price: 1, Quota: 10_000_000, Limit: 1}}}
	failB(b, s.CreateFlashSession(ctx, fs))
	w := &flashBench{s: s, fs: fs, sku: sku, svc: &order.Service{Clock: clock.Real{}}}

	// A batch per writer first: the pool's connections open and prepare
	// their statements, as a running writer's have.
	var warm sync.WaitGroup
	for range writers {
		warm.Add(1)
		go func() { defer warm.Done(); failB(b, w.write(ctx, w.wins(now))) }()
	}
	warm.Wait()
	batches := make(chan []flashsale.Win, b.N)
	for range b.N {
		batches <- w.wins(now)
	}
	close(batches)
	pgBefore := backendCPU(ctx, admin)
	goBefore := processCPU()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for wins := range batches {
				if err := w.write(ctx, wins); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	won := float64(b.N * flashBatch)
	per10k := func(d time.Duration) float64 { return float64(d.Milliseconds()) / won * 10_000 }
	b.ReportMetric(won/b.Elapsed().Seconds(), "wins/s")
	b.ReportMetric(b.Elapsed().Seconds()/won*10_000*1000, "ms/10k_wins")
	if goSpent := processCPU() - goBefore; goSpent > 0 {
		b.ReportMetric(per10k(goSpent), "go_cpu_ms/10k_wins")
	}
	if pgBefore != nil {
		var spent time.Duration
		for pid, after := range backendCPU(ctx, admin) {
			spent += after - pgBefore[pid] // a backend opened since counts whole
		}
		b.ReportMetric(per10k(spent), "pg_cpu_ms/10k_wins")
	}
	got, err := s.FlashSession(ctx, fs.ID)
	if err != nil || got.SKUs[0].Won != (b.N+writers)*flashBatch {
		b.Fatalf("won %+v, %v; want %d", got, err, (b.N+writers)*flashBatch)
	}
}

type flashBench struct {
	s   *postgres.Store
	fs  *flashsale.Session
	sku catalog.SKU
	svc *order.Service
}

var benchShipTo = order.ShipTo{Name: "李小红", Phone: "13800138000", Province: "广东省", City: "深圳市", District: "南山区", Detail: "科技园路 1 号"}

// wins is a batch of wins of one unit, each by a buyer of its own.
func (w *flashBench) wins(at time.Time) []flashsale.Win {
	wins := make([]flashsale.Win, flashBatch)
	for i := range wins {
		buyer := ids.New()
		wins[i] = flashsale.Win{Claim: flashsale.Claim{SessionID: w.fs.ID, SKUID: w.sku.ID, BuyerID: buyer, Qty: 1,
			Ticket: flashsale.TicketFor(w.fs.ID, w.sku.ID, buyer, "r")}, At: at}
	}
	return wins
}

// write writes a batch, composing each order in decide as the order
// writer does.
func (w *flashBench) write(ctx context.Context, wins []flashsale.Win) error {
	return w.s.WriteFlashWins(ctx, wins, func(flashsale.Known) ([]flashsale.Placement, error) {
		at := time.Now().UTC()
		out := make([]flashsale.Placement, 0, len(wins))
		for _, win := range wins {
			o := &order.Order{ID: ids.New(), BuyerID: win.BuyerID, Status: order.PendingPayment, Subtotal: 1, Total: 1,
				ShipTo: benchShipTo, PayBy: win.At.Add(w.fs.PayWindow), CreatedAt: at, UpdatedAt: at,
				Activity: &order.Activity{Kind: order.ActivityFlashSale, ID: w.fs.ID, Ref: win.Ticket},
				Lines: []order.Line{{ID: ids.New(), SKUID: w.sku.ID, ProductID: w.sku.ProductID, Title: "Longjing", Spec: "50g",
					Qty: 1, ListPrice: 2599, SalePrice: 1, Amount: 1,
					Adjustments: []pricing.Adjustment{{Step: "activity", Amount: -2598, Ref: w.fs.ID}}}}}
			out = append(out, flashsale.Placement{Win: win, Draft: w.svc.Compose(o)})
		}
		return out, nil
	})
}

// benchSKU puts a product on sale with one SKU and ten million units.
func benchSKU(b *testing.B, s *postgres.Store, now time.Time) catalog.SKU {
	ctx := context.Background()
	c := &catalog.Category{ID: ids.New(), Name: "Tea", CreatedAt: now}
	failB(b, s.CreateCategory(ctx, c, nil))
	p := &catalog.Product{ID: ids.New(), CategoryID: c.ID, Title: "Longjing", Images: []string{}, Status: catalog.OnSale,
		MinPrice: money.Fen(1999), CreatedAt: now, UpdatedAt: now,
		SKUs: []catalog.SKU{{ID: ids.New(), Specs: []catalog.Spec{{Name: "size", Value: "50g"}}, ListPrice: 2599, SalePrice: 1999}}}
	failB(b, s.CreateProduct(ctx, p, nil))
	_, err := s.AdjustStock(ctx, inventory.Movement{ID: ids.New(), SKUID: p.SKUs[0].ID, Location: inventory.Online,
		OnHandDelta: 10_000_000, Reason: inventory.Receive, At: now})
	failB(b, err)
	sku := p.SKUs[0]
	sku.ProductID = p.ID
	return sku
}

func failB(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
