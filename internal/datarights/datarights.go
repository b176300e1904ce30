// Package datarights owns a buyer's rights over their data under PIPL: a
// copy of it (art. 45, export as JSON) and its erasure (art. 47). Erasure
// removes or irreversibly anonymises the personal data while the records
// the law keeps stay whole: orders, payments, the ledger and the audit log
// are kept at least 3 years (E-Commerce Law art. 31; DOMAIN.md "Records"),
// so an order keeps its amounts and lines and only its ship-to is
// anonymised (PIPL art. 47 para. 2: where another law sets a retention
// period, processing stops except storage and security measures).
//
// See docs/privacy.md for the rules and their sources.
package datarights

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/audit"
	"github.com/siyu-commerce/siyu/internal/consent"
	"github.com/siyu-commerce/siyu/internal/coupon"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/share"
)

// ExportEvery is how often a buyer may download their data. An export
// reads every order and coupon of theirs, decrypting addresses; once an
// hour is plenty for a person and bounds what a stolen session can pull.
const ExportEvery = time.Hour

// ErasedName is what an erased order's ship-to name becomes.
const ErasedName = "已注销"

// Export is everything siyu holds about a buyer, as they download it.
type Export struct {
	ExportedAt  time.Time              `json:"exported_at"`
	Profile     identity.Buyer         `json:"profile"`
	Addresses   []identity.Address     `json:"addresses"` // decrypted: it is the buyer's own data
	Orders      []order.Order          `json:"orders"`
	Coupons     []coupon.Coupon        `json:"coupons"`
	Consents    []consent.Record       `json:"consents"` // the whole history, newest first
	ShareVisits []share.Visit          `json:"share_visits"`
	Promoter    *affiliate.Promoter    `json:"promoter,omitempty"` // set if the buyer is a promoter
	Binding     *affiliate.Binding     `json:"binding,omitempty"`  // the promoter who brought them, if any
	Commissions []affiliate.Commission `json:"commissions"`
}

// Erasure is what erasing one buyer did.
type Erasure struct {
	BuyerID string    `json:"buyer_id"`
	At      time.Time `json:"erased_at"`
	// Token replaces the buyer's openid (as "erased:<token>"): random, so
	// nothing links it back to the WeChat identity, and unique, so the
	// openid column's unique key still holds.
	Token     string `json:"-"`
	Addresses int    `json:"addresses_deleted"`
	Orders    int    `json:"orders_anonymised"`
	Sessions  int    `json:"sessions_revoked"`
	CartLines int    `json:"cart_lines_deleted"`
	Devices   int    `json:"device_records_cleared"` // share visits, bindings, bargain helps
	// Replays are the stored first responses of the buyer's Idempotency-Key
	// requests (an order's response holds its ship-to in clear).
	Replays  int `json:"stored_responses_deleted"`
	Consents int `json:"consents_withdrawn"`
	// Repeated is true when the buyer had been erased before: nothing was
	// done again.
	Repeated bool `json:"repeated"`
}

// Store is what data rights need of a store engine beyond the other
// domains' own stores.
type Store interface {
	// ClaimExport records an export by the buyer at now unless one was
	// recorded after now-every, atomically (it holds across replicas);
	// false with the time the next one is allowed otherwise.
	ClaimExport(ctx context.Context, buyerID string, now time.Time, every time.Duration) (bool, time.Time, error)
	// EraseBuyer erases the buyer in one transaction: the openid replaced
	// by "erased:"+e.Token and the unionid and session key cleared, the
	// addresses and cart deleted, every order's ship-to anonymised (name
	// ErasedName, phone and street detail empty, the area kept) and its
	// remark cleared, the sessions revoked, device ids and IPs cleared, the
	// stored responses of the buyer's idempotent requests deleted, and
	// the entries steps returns appended to the audit log. A buyer erased
	// before is left as it is and their first Erasure returned with
	// Repeated set. identity.ErrBuyerNotFound for an unknown buyer.
	EraseBuyer(ctx context.Context, e Erasure, steps func(Erasure) []audit.Entry) (Erasure, error)
}

// Readers are the other domains' stores an export reads.
type Readers struct {
	Identity interface {
		Buyer(ctx context.Context, id string) (*identity.Buyer, error)
		Addresses(ctx context.Context, buyerID string) ([]identity.Address, error)
	}
	Orders interface {
		Orders(ctx context.Context, f order.ListFilter) (order.Page, error)
	}
	Coupons interface {
		Coupons(ctx context.Context, f coupon.CouponFilter) (coupon.CouponPage, error)
	}
	Shares interface {
		ShareVisitsSince(ctx context.Context, visitorID string, since time.Time, limit int) ([]share.Visit, error)
	}
	Affiliates interface {
		Promoter(ctx context.Context, id string) (*affiliate.Promoter, error)
		Binding(ctx context.Context, buyerID string) (*affiliate.Binding, error)
		Commissions(ctx context.Context, f affiliate.CommissionFilter) (affiliate.CommissionPage, error)
	}
}

// ErrExportTooSoon is the rate limit's answer.
func errExportTooSoon(next time.Time) error {
	return errs.E(errs.TooMany, "export_too_soon", "one data export per hour; the next one from %s", next.UTC().Format(time.RFC3339))
}
