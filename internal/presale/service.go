package presale

import (
	"context"
	"log/slog"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/compliance"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/page"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// Catalog is what the presale reads of the catalogue: the SKUs it sells.
type Catalog interface {
	SKUs(ctx context.Context, ids []string) (map[string]catalog.SKUWithProduct, error)
}

// Orders is what the presale asks of the order capability: price its
// orders, read them, and close a balance order that may no longer be paid
// (settling its payment first).
type Orders interface {
	Prepare(ctx context.Context, in order.PlaceInput) (*order.Draft, error)
	Order(ctx context.Context, id string) (*order.Order, error)
	Close(ctx context.Context, id, reason string) (*order.Order, error)
}

// Refunds is what the presale asks of the refund capability: refund its
// orders, and read the refunds of a deposit before forfeiting it.
type Refunds interface {
	Refund(ctx context.Context, in refund.RefundInput) (*refund.Refund, error)
	Refunds(ctx context.Context, f refund.RefundFilter) (refund.RefundPage, error)
}

// Book creates the ledger account of forfeited deposits.
type Book interface {
	CreateAccount(ctx context.Context, a ledger.Account) error
}

// Service runs the presale rules.
type Service struct {
	Store   Store
	Catalog Catalog
	Orders  Orders
	Refunds Refunds
	Book    Book
	Clock   clock.Clock
	// Log records what the consumers could not do and left to finance;
	// nil logs to slog.Default().
	Log *slog.Logger
}

// Page sizes of the listings.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// skus reads the SKUs the input names that exist.
func (s *Service) skus(ctx context.Context, skuIDs []string) (map[string]catalog.SKUWithProduct, error) {
	valid := make([]string, 0, len(skuIDs))
	for _, id := range skuIDs {
		if ids.Valid(id) {
			valid = append(valid, id)
		}
	}
	if len(valid) == 0 {
		return map[string]catalog.SKUWithProduct{}, nil
	}
	return s.Catalog.SKUs(ctx, valid)
}

func (s *Service) terms(ctx context.Context, in ActivityInput) (Activity, error) {
	skuIDs := make([]string, len(in.Items))
	for i, it := range in.Items {
		skuIDs[i] = it.SKUID
	}
	found, err := s.skus(ctx, skuIDs)
	if err != nil {
		return Activity{}, err
	}
	return terms(in, found)
}

// CreateActivity records a draft presale.
func (s *Service) CreateActivity(ctx context.Context, in ActivityInput) (*Activity, error) {
	a, err := s.terms(ctx, in)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	a.ID, a.Status, a.CreatedAt, a.UpdatedAt = ids.New(), Draft, now, now
	if err := s.Store.CreatePresale(ctx, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// UpdateActivity replaces a draft's terms. A published presale is fixed:
// its steps were announced, and its units sold, on those terms.
func (s *Service) UpdateActivity(ctx context.Context, id string, in ActivityInput) (*Activity, error) {
	if !ids.Valid(id) {
		return nil, ErrActivityNotFound
	}
	t, err := s.terms(ctx, in)
	if err != nil {
		return nil, err
	}
	return s.Store.UpdatePresale(ctx, id, func(a *Activity) error {
		if a.Status != Draft {
			return ErrNotDraft
		}
		t.ID, t.Status, t.CreatedAt, t.UpdatedAt = a.ID, a.Status, a.CreatedAt, s.Clock.Now()
		*a = t
		return nil
	})
}

// Activity returns a presale as an operator sees it.
func (s *Service) Activity(ctx context.Context, id string) (*Activity, error) {
	if !ids.Valid(id) {
		return nil, ErrActivityNotFound
	}
	return s.Store.Presale(ctx, id)
}

// Activities lists presales: for the operators any status, for buyers
// (public) the published ones.
func (s *Service) Activities(ctx context.Context, f ActivityFilter) (ActivityPage, error) {
	f.Limit = page.Size(f.Limit, DefaultLimit, MaxLimit)
	return s.Store.Presales(ctx, f)
}

// facts is what the presale states about itself for the compliance lint.
func facts(a *Activity, skus map[string]catalog.SKUWithProduct) compliance.Facts {
	p := &compliance.Presale{}
	regular := money.Fen(0)
	for i, it := range a.Items {
		pi := compliance.PresaleItem{SKUID: it.SKUID, Deposit: it.Deposit, RegularPrice: skus[it.SKUID].SKU.SalePrice}
		for _, st := range it.Steps {
			pi.Steps = append(pi.Steps, st.Price)
		}
		if i == 0 || pi.RegularPrice < regular {
			regular = pi.RegularPrice
		}
		p.Items = append(p.Items, pi)
	}
	// No reward: a presale pays nobody for anyone else's purchase.
	return compliance.Facts{RegularPrice: regular, MaxDepth: a.MaxDepth, StartsAt: a.StartsAt, EndsAt: a.EndsAt,
		Rules: a.Rules, ShareNotice: a.ShareNotice, Presale: p}
}

func (s *Service) itemSKUs(ctx context.Context, a *Activity) (map[string]catalog.SKUWithProduct, error) {
	skuIDs := make([]string, len(a.Items))
	for i, it := range a.Items {
		skuIDs[i] = it.SKUID
	}
	return s.skus(ctx, skuIDs)
}

// Checks runs the compliance lint on a presale, in any state.
func (s *Service) Checks(ctx context.Context, id string) (compliance.Report, error) {
	a, err := s.Activity(ctx, id)
	if err != nil {
		return compliance.Report{}, err
	}
	skus, err := s.itemSKUs(ctx, a)
	if err != nil {
		return compliance.Report{}, err
	}
	return compliance.Lint(facts(a, skus)), nil
}

// Publish puts a draft on sale once every SKU is on sale and it passes
// every compliance check, the presale's 3 days among them.
func (s *Service) Publish(ctx context.Context, id string) (*Activity, error) {
	a, err := s.Activity(ctx, id)
	if err != nil {
		return nil, err
	}
	skus, err := s.itemSKUs(ctx, a)
	if err != nil {
		return nil, err
	}
	for _, it := range a.Items {
		if sp, ok := skus[it.SKUID]; !ok || sp.Product.Status != catalog.OnSale {
			return nil, ErrSKUUnavailable
		}
	}
	now := s.Clock.Now()
	return s.Store.UpdatePresale(ctx, id, func(a *Activity) error {
		if a.Status != Draft {
			return ErrNotDraft
		}
		if !now.Before(a.EndsAt) {
			return errs.Field("ends_at", "activity_over", "the presale's window has passed")
		}
		if err := compliance.Lint(facts(a, skus)).Err(); err != nil {
			return err
		}
		a.Status, a.PublishedAt, a.UpdatedAt = Published, &now, now
		return nil
	})
}

// End stops a presale selling. Purchases made run their course: their
// balance window, their shipping date, on the terms they were bought on.
func (s *Service) End(ctx context.Context, id string) (*Activity, error) {
	if !ids.Valid(id) {
		return nil, ErrActivityNotFound
	}
	return s.Store.UpdatePresale(ctx, id, func(a *Activity) error {
		if a.Status == Ended {
			return ErrAlreadyEnded
		}
		now := s.Clock.Now()
		a.Status, a.EndedAt, a.UpdatedAt = Ended, &now, now
		return nil
	})
}

// View is a presale as buyers see it: every step of every SKU, announced
// before anyone buys, the price the next unit sells at now, and a
// crossed-out price only where the previous 7 days justify one.
type View struct {
	*Activity
	Items []ItemView `json:"items"`
}

// ItemView is one SKU of a presale as buyers see it.
type ItemView struct {
	Item
	// Price is what the next unit costs now (its step); Left the units
	// of the quota not taken.
	Price money.Fen `json:"price"`
	Left  int       `json:"left"`
	// CrossedOut is the SKU's regular price, shown struck through, only
	// when it is above Price and no higher than the lowest price the SKU
	// was charged at in the 7 days before the presale began (DOMAIN.md,
	// "Prices"; 《规范促销行为暂行规定》: the price compared against is the
	// lowest transaction price in the 7 days before the promotion). Without
	// a sale in those 7 days none is shown. The presale's own sales come
	// after its start, so they never erase it.
	CrossedOut *money.Fen `json:"crossed_out_price,omitempty"`
}

// CrossedOutWindow is how far back a crossed-out price must be justified.
const CrossedOutWindow = 7 * 24 * time.Hour

// PublicActivity returns a published (or ended) presale as a buyer sees
// it; a draft is nobody's business but the operators'.
func (s *Service) PublicActivity(ctx context.Context, id string) (*View, error) {
	a, err := s.Activity(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.PublicView(ctx, a)
}

// PublicView is a presale already read, as a buyer sees it; a draft is not
// found.
func (s *Service) PublicView(ctx context.Context, a *Activity) (*View, error) {
	if a.Status == Draft {
		return nil, ErrActivityNotFound
	}
	return s.view(ctx, a, true)
}

// OperatorView is a presale with its prices now, as an operator sees it.
func (s *Service) OperatorView(ctx context.Context, a *Activity) (*View, error) {
	return s.view(ctx, a, false)
}

func (s *Service) view(ctx context.Context, a *Activity, crossedOut bool) (*View, error) {
	now := s.Clock.Now()
	v := &View{Activity: a, Items: make([]ItemView, len(a.Items))}
	var skus map[string]catalog.SKUWithProduct
	if crossedOut {
		var err error
		if skus, err = s.itemSKUs(ctx, a); err != nil {
			return nil, err
		}
	}
	for i, it := range a.Items {
		iv := ItemView{Item: it, Left: max(it.Quota-it.Sold, 0)}
		if len(it.Steps) > 0 {
			iv.Price = it.current(a.Basis, now)
		}
		if sp, ok := skus[it.SKUID]; ok && sp.SKU.SalePrice > iv.Price {
			before := a.StartsAt.Add(-time.Microsecond) // the stores keep microseconds
			low, sold, err := s.Store.LowestPrice(ctx, it.SKUID, a.StartsAt.Add(-CrossedOutWindow), before)
			if err != nil {
				return nil, err
			}
			if sold && sp.SKU.SalePrice <= low {
				p := sp.SKU.SalePrice
				iv.CrossedOut = &p
			}
		}
		v.Items[i] = iv
	}
	return v, nil
}
