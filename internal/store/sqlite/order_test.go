package sqlite

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/seal"
)

// The conformance suite sees orders only through the Store interface, so it
// cannot tell a sealed column from a plain one; this test reads the column.
func TestOrderShipToSealedAtRest(t *testing.T) {
	ctx := context.Background()
	sealer, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(t.TempDir(), "siyu.db"), sealer)
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
		{`INSERT INTO categories (id, name, created_at) VALUES (?, 'tea', ?)`, []any{cat, ts(now)}},
		{`INSERT INTO products (id, category_id, title, status, created_at, updated_at) VALUES (?, ?, 'Oolong', 'on_sale', ?, ?)`, []any{prod, cat, ts(now), ts(now)}},
		{`INSERT INTO skus (id, product_id, position, list_price, sale_price) VALUES (?, ?, 0, 3000, 2500)`, []any{sku, prod}},
		{`INSERT INTO stock_levels (sku_id, location, on_hand, updated_at) VALUES (?, 'online', 5, ?)`, []any{sku, ts(now)}},
	} {
		if _, err := s.w.ExecContext(ctx, q.sql, q.args...); err != nil {
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
	if err := s.r.QueryRowContext(ctx, `SELECT ship_to FROM orders WHERE id = ?`, o.ID).Scan(&raw); err != nil {
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
