package postgres

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/seal"
	"github.com/siyu-commerce/siyu/internal/store/postgres/pgtest"
)

// The conformance suite sees orders only through the Store interface, so it
// cannot tell a sealed column from a plain one; this test reads the column.
func TestOrderShipToSealedAtRest(t *testing.T) {
	ctx := context.Background()
	sealer, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, pgtest.NewDatabase(t), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	now := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	cat, prod, sku := ids.New(), ids.New(), ids.New()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO categories (id, name, created_at) VALUES ($1, 'tea', $2)`, []any{cat, now}},
		{`INSERT INTO products (id, category_id, title, status, created_at, updated_at) VALUES ($1, $2, 'Oolong', 'on_sale', $3, $3)`, []any{prod, cat, now}},
		{`INSERT INTO skus (id, product_id, position, list_price, sale_price) VALUES ($1, $2, 0, 3000, 2500)`, []any{sku, prod}},
		{`INSERT INTO stock_levels (sku_id, location, on_hand, updated_at) VALUES ($1, 'online', 5, $2)`, []any{sku, now}},
	} {
		if _, err := s.pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}

	shipTo := order.ShipTo{Name: "王小明", Phone: "13912345678", Province: "浙江省", City: "杭州市", District: "西湖区", Detail: "文三路 88 号 1201 室"}
	o := &order.Order{
		ID: ids.New(), BuyerID: ids.New(), Status: order.PendingPayment,
		Lines:    []order.Line{{ID: ids.New(), SKUID: sku, ProductID: prod, Title: "Oolong", Qty: 2, ListPrice: 3000, SalePrice: 2500, Amount: 5000}},
		Subtotal: 6000, Discount: 1000, Shipping: 800, Total: 5800,
		ShipTo: shipTo, PayBy: now.Add(15 * time.Minute), CreatedAt: now, UpdatedAt: now,
	}
	if err := s.CreateOrder(ctx, o, nil, nil); err != nil {
		t.Fatal(err)
	}

	var raw string
	if err := s.pool.QueryRow(ctx, `SELECT ship_to FROM orders WHERE id = $1`, o.ID).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, "v1:") {
		t.Errorf("ship_to column = %q; want a sealed value", raw)
	}
	for _, plain := range []string{shipTo.Name, shipTo.Phone, shipTo.Detail, "phone"} {
		if strings.Contains(raw, plain) {
			t.Errorf("ship_to column holds %q in plain text: %q", plain, raw)
		}
	}
	got, err := s.Order(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ShipTo != shipTo {
		t.Errorf("ShipTo = %+v; want %+v", got.ShipTo, shipTo)
	}

	other, err := seal.New(bytes.Repeat([]byte{8}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s.seal = other
	if _, err := s.Order(ctx, o.ID); err == nil {
		t.Error("Order under another data key succeeded; the ship-to must not decrypt without its key")
	}
}

// BenchmarkCreateOrder measures the store's half of checkout: one line, its
// event and its close job, from 32 goroutines (the goal in the benchmarks
// doc is 1,500 orders/s with 32 buyers). "spread" orders across 100 SKUs;
// "hot" has every buyer on one SKU, as in a flash sale, where the stock row
// lock is what serialises them.
func BenchmarkCreateOrder(b *testing.B) {
	ctx := context.Background()
	sealer, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		b.Fatal(err)
	}
	s, err := Open(ctx, pgtest.NewDatabase(b), sealer)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	cat, prod := ids.New(), ids.New()
	if _, err := s.pool.Exec(ctx, `INSERT INTO categories (id, name, created_at) VALUES ($1, 'tea', $2)`, cat, now); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO products (id, category_id, title, status, created_at, updated_at) VALUES ($1, $2, 'Oolong', 'on_sale', $3, $3)`, prod, cat, now); err != nil {
		b.Fatal(err)
	}
	skus := make([]string, 100)
	for i := range skus {
		skus[i] = ids.New()
		if _, err := s.pool.Exec(ctx, `INSERT INTO skus (id, product_id, position, list_price, sale_price) VALUES ($1, $2, $3, 3000, 2500)`, skus[i], prod, i); err != nil {
			b.Fatal(err)
		}
		if _, err := s.pool.Exec(ctx, `INSERT INTO stock_levels (sku_id, location, on_hand, updated_at) VALUES ($1, 'online', 100000000, $2)`, skus[i], now); err != nil {
			b.Fatal(err)
		}
	}
	shipTo := order.ShipTo{Name: "王小明", Phone: "13912345678", City: "杭州市", Detail: "文三路 88 号"}
	for _, c := range []struct {
		name string
		skus []string
	}{{"spread", skus}, {"hot", skus[:1]}} {
		b.Run(c.name, func(b *testing.B) {
			var n atomic.Int64
			procs := runtime.GOMAXPROCS(0)
			b.SetParallelism((32 + procs - 1) / procs) // 32 goroutines in all
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					sku := c.skus[int(n.Add(1))%len(c.skus)]
					o := &order.Order{
						ID: ids.New(), BuyerID: ids.New(), Status: order.PendingPayment, ShipTo: shipTo,
						Lines:    []order.Line{{ID: ids.New(), SKUID: sku, ProductID: prod, Title: "Oolong", Qty: 1, ListPrice: 3000, SalePrice: 2500, Amount: 2500}},
						Subtotal: 3000, Discount: 500, Shipping: 800, Total: 3300,
						PayBy: now.Add(15 * time.Minute), CreatedAt: now, UpdatedAt: now,
					}
					ev := []outbox.Event{outbox.New(order.TopicCreated, o.ID, map[string]string{"order_id": o.ID}, now)}
					js := []jobs.Job{jobs.New(order.JobCloseUnpaid, o.ID, o.PayBy, map[string]string{"order_id": o.ID})}
					if err := s.CreateOrder(ctx, o, ev, js); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
		})
	}
}
