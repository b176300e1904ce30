package datarights

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/audit"
	"github.com/siyu-commerce/siyu/internal/consent"
	"github.com/siyu-commerce/siyu/internal/coupon"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/share"
)

// pageSize is how many rows an export reads per page of each listing.
const pageSize = 200

// maxVisits bounds the share visits an export lists (the store reads them
// in one go); a person opens far fewer links than this.
const maxVisits = 10000

// Service exports and erases a buyer's data.
type Service struct {
	Store   Store
	Read    Readers
	Consent *consent.Service
	Clock   clock.Clock // clock.Real{} when nil
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return clock.Real{}.Now()
	}
	return s.Clock.Now()
}

// Export gathers the buyer's data. It is built first and claimed second:
// only an export that was built counts against the hourly limit, and the
// claim is atomic, so two racing requests deliver one.
func (s *Service) Export(ctx context.Context, buyerID string) (*Export, error) {
	now := s.now()
	x := &Export{ExportedAt: now, Commissions: []affiliate.Commission{}}
	b, err := s.Read.Identity.Buyer(ctx, buyerID)
	if err != nil {
		return nil, err
	}
	x.Profile = *b
	if x.Addresses, err = s.Read.Identity.Addresses(ctx, buyerID); err != nil {
		return nil, err
	}
	if x.Orders, err = s.orders(ctx, buyerID); err != nil {
		return nil, err
	}
	if x.Coupons, err = s.coupons(ctx, buyerID, now); err != nil {
		return nil, err
	}
	if x.Consents, err = s.consents(ctx, buyerID); err != nil {
		return nil, err
	}
	if x.ShareVisits, err = s.Read.Shares.ShareVisitsSince(ctx, buyerID, time.Time{}, maxVisits); err != nil {
		return nil, err
	}
	if x.ShareVisits == nil {
		x.ShareVisits = []share.Visit{}
	}
	if err := s.affiliate(ctx, buyerID, x); err != nil {
		return nil, err
	}
	ok, next, err := s.Store.ClaimExport(ctx, buyerID, now, ExportEvery)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errExportTooSoon(next)
	}
	return x, nil
}

func (s *Service) orders(ctx context.Context, buyerID string) ([]order.Order, error) {
	out := []order.Order{}
	f := order.ListFilter{BuyerID: buyerID, Limit: pageSize}
	for {
		p, err := s.Read.Orders.Orders(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Orders...)
		if p.NextCursor == "" {
			return out, nil
		}
		f.Cursor = p.NextCursor
	}
}

func (s *Service) coupons(ctx context.Context, buyerID string, now time.Time) ([]coupon.Coupon, error) {
	out := []coupon.Coupon{}
	f := coupon.CouponFilter{BuyerID: buyerID, Now: now, Limit: pageSize}
	for {
		p, err := s.Read.Coupons.Coupons(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Coupons...)
		if p.NextCursor == "" {
			return out, nil
		}
		f.Cursor = p.NextCursor
	}
}

func (s *Service) consents(ctx context.Context, buyerID string) ([]consent.Record, error) {
	out := []consent.Record{}
	f := consent.HistoryFilter{BuyerID: buyerID, Limit: consent.MaxLimit}
	for {
		p, err := s.Consent.History(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Records...)
		if p.NextCursor == "" {
			return out, nil
		}
		f.Cursor = p.NextCursor
	}
}

// affiliate adds the buyer's promoter record, binding and commissions;
// each is absent for most buyers, which is not an error.
func (s *Service) affiliate(ctx context.Context, buyerID string, x *Export) error {
	b, err := s.Read.Affiliates.Binding(ctx, buyerID)
	switch {
	case err == nil:
		x.Binding = b
	case errs.KindOf(err) != errs.NotFound:
		return err
	}
	p, err := s.Read.Affiliates.Promoter(ctx, buyerID)
	if errs.KindOf(err) == errs.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	x.Promoter = p
	f := affiliate.CommissionFilter{PromoterID: buyerID, Limit: pageSize}
	for {
		page, err := s.Read.Affiliates.Commissions(ctx, f)
		if err != nil {
			return err
		}
		x.Commissions = append(x.Commissions, page.Commissions...)
		if page.NextCursor == "" {
			return nil
		}
		f.Cursor = page.NextCursor
	}
}

// Erase erases the buyer's personal data; see Store.EraseBuyer for what
// that is. Consents are withdrawn first (their records stay, as evidence of
// what was consented when; they name only the buyer id, which no longer
// leads to a person). Every step is written to the audit log in the same
// transaction as the erasure itself, with the buyer as the actor. Erasing
// twice is a no-op that answers the first erasure.
func (s *Service) Erase(ctx context.Context, buyerID string) (*Erasure, error) {
	before, err := s.Consent.States(ctx, buyerID)
	if err != nil {
		return nil, err
	}
	if err := s.Consent.WithdrawAll(ctx, buyerID); err != nil {
		return nil, err
	}
	withdrawn := 0
	for _, st := range before {
		if st.Granted {
			withdrawn++
		}
	}
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return nil, errs.Wrap(err, "datarights: token")
	}
	e := Erasure{BuyerID: buyerID, At: s.now(), Token: hex.EncodeToString(tok), Consents: withdrawn}
	out, err := s.Store.EraseBuyer(ctx, e, steps)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// steps are the audit entries of an erasure: one per step, with counts and
// never a personal value.
func steps(e Erasure) []audit.Entry {
	actions := []string{
		fmt.Sprintf("erasure: %d consents withdrawn", e.Consents),
		"erasure: openid and unionid replaced by an irreversible token, session key cleared",
		fmt.Sprintf("erasure: %d addresses deleted", e.Addresses),
		fmt.Sprintf("erasure: %d orders' ship-to anonymised (amounts kept)", e.Orders),
		fmt.Sprintf("erasure: %d cart lines deleted", e.CartLines),
		fmt.Sprintf("erasure: %d device and IP records cleared", e.Devices),
		fmt.Sprintf("erasure: %d stored request responses deleted", e.Replays),
		fmt.Sprintf("erasure: %d sessions revoked", e.Sessions),
		"erasure: completed",
	}
	out := make([]audit.Entry, len(actions))
	for i, a := range actions {
		out[i] = audit.Entry{ID: ids.New(), At: e.At, ActorID: e.BuyerID, Role: "buyer", Action: a,
			Target: e.BuyerID, Status: 200}
	}
	return out
}
