// Package store opens the configured store engine. An engine implements
// every domain's Store interface; which one runs is a deployment choice
// (SQLite embedded, PostgreSQL for scale-out), invisible to the domains.
package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/audit"
	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/campaign"
	"github.com/siyu-commerce/siyu/internal/cart"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/consent"
	"github.com/siyu-commerce/siyu/internal/coupon"
	"github.com/siyu-commerce/siyu/internal/crm"
	"github.com/siyu-commerce/siyu/internal/datarights"
	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/groupbuy"
	"github.com/siyu-commerce/siyu/internal/idempotency"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/membership"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/seal"
	"github.com/siyu-commerce/siyu/internal/points"
	"github.com/siyu-commerce/siyu/internal/presale"
	"github.com/siyu-commerce/siyu/internal/pricewindow"
	"github.com/siyu-commerce/siyu/internal/refund"
	"github.com/siyu-commerce/siyu/internal/share"
	"github.com/siyu-commerce/siyu/internal/store/postgres"
	"github.com/siyu-commerce/siyu/internal/store/sqlite"
)

// Engine is everything a store engine implements.
type Engine interface {
	audit.Store
	catalog.Store
	inventory.Store
	cart.Store
	order.Store
	outbox.Store
	jobs.Store
	idempotency.Store
	identity.Store
	ledger.Store
	payment.Store
	refund.Store
	share.Store
	groupbuy.Store
	bargain.Store
	affiliate.Store
	coupon.Store
	crm.Store
	consent.Store
	datarights.Store
	flashsale.Store
	pricewindow.Store
	presale.Store
	points.Store
	membership.Store
	campaign.Store
	Ping(ctx context.Context) error
	Migrate(ctx context.Context) (int, error)
	Pending(ctx context.Context) (int, error)
	Close() error
}

var (
	_ Engine = (*sqlite.Store)(nil)
	_ Engine = (*postgres.Store)(nil)
)

// Open opens the engine named by url: "sqlite:PATH" or "postgres://...".
func Open(ctx context.Context, url string, sealer *seal.Sealer) (Engine, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		return sqlite.Open(strings.TrimPrefix(url, "sqlite:"), sealer)
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return postgres.Open(ctx, url, sealer)
	}
	return nil, fmt.Errorf("store: unknown database URL %q: want sqlite:PATH or postgres://...", url)
}
