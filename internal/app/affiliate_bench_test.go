package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// BenchmarkSettleDueCommissions settles 100,000 due commissions (one per
// sale, 200 promoters) through affiliate.Service.SettleDue, the job's own
// path: batches of 500 sales per transaction, each sale's commissions
// updated, one settle transfer per sale posted to the ledger. The setup
// (recording the sales with their accrual transfers) is not timed. The
// goal (issue 5) is under 30 s on PostgreSQL.
//
//	SIYU_TEST_DATABASE_URL=postgres://... go test ./internal/app/ -run '^$' -bench SettleDueCommissions -benchtime 1x
//
// SQLite settles 20,000 (its one writer makes the setup slow, not the
// settlement). Results are in docs/benchmarks.md.
func BenchmarkSettleDueCommissions(b *testing.B) {
	for _, engine := range apptest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			n := 100000
			if engine == apptest.SQLite {
				n = 20000
			}
			for i := 0; i < b.N; i++ {
				a := apptest.New(b, engine, nil)
				seedDueSales(b, a, n)
				b.ResetTimer()
				start := time.Now()
				settled, err := a.Affiliates.SettleDue(context.Background())
				el := time.Since(start)
				b.StopTimer()
				if err != nil || settled != n {
					b.Fatalf("settled %d of %d: %v", settled, n, err)
				}
				b.ReportMetric(float64(n)/el.Seconds(), "commissions/s")
				b.ReportMetric(el.Seconds(), "settle-s")
				if breaches, err := a.Store.CheckLedger(context.Background()); err != nil || len(breaches) > 0 {
					b.Fatalf("ledger: %v %+v", err, breaches)
				}
			}
		})
	}
}

// seedDueSales records n sales of 10,000 fen, each with one 1,000-fen
// commission to one of 200 promoters, due now.
func seedDueSales(b *testing.B, a *apptest.App, n int) {
	b.Helper()
	ctx := context.Background()
	for _, acc := range affiliate.Accounts {
		if err := a.Store.CreateAccount(ctx, acc); err != nil {
			b.Fatal(err)
		}
	}
	now := a.Clock.Now()
	promoters := make([]string, 200)
	for i := range promoters {
		p := &affiliate.Promoter{ID: ids.New(), InviteCode: ids.Token(4), Status: affiliate.Approved, AppliedAt: now}
		if err := a.Store.CreatePromoter(ctx, p); err != nil {
			b.Fatal(err)
		}
		if err := a.Store.CreateAccount(ctx, affiliate.PromoterAccount(p.ID)); err != nil {
			b.Fatal(err)
		}
		promoters[i] = p.ID
	}
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				orderID, buyer := ids.New(), ids.New()
				cs := []affiliate.Commission{{ID: ids.New(), OrderID: orderID, LineID: ids.New(), BuyerID: buyer,
					PromoterID: promoters[i%len(promoters)], Tier: 1, ProductID: ids.New(), SKUID: ids.New(),
					Base: 10000, Rate: 1000, Amount: money.Fen(1000), State: affiliate.Pending, CreatedAt: now}}
				sale := &affiliate.Sale{OrderID: orderID, BuyerID: buyer, Paid: 10000, PaidAt: now}
				if _, err := a.Store.RecordSale(ctx, sale, cs, affiliate.Change{Transfers: affiliate.Accrual(cs, orderID)}); err != nil {
					errc <- err
					return
				}
				if _, err := a.Store.ScheduleSettlement(ctx, orderID, now.Add(-time.Minute)); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}
