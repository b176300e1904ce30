package bargain

import (
	"context"
	"log/slog"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/compliance"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Catalog is what the bargain reads of the catalogue: the SKU an activity
// sells, with its prices.
type Catalog interface {
	SKUs(ctx context.Context, ids []string) (map[string]catalog.SKUWithProduct, error)
}

// Orders is what the bargain asks of the order capability: price an order
// at the bargain's terms, and pay at once one that costs nothing.
type Orders interface {
	Prepare(ctx context.Context, in order.PlaceInput) (*order.Draft, error)
	PayFree(ctx context.Context, o *order.Order) (*order.Order, error)
}

// Buyers gives a helper's account, whose age the help rules check.
type Buyers interface {
	Buyer(ctx context.Context, id string) (*identity.Buyer, error)
}

// RewardCoupon is what the bargain reads of the coupon template a reward
// names.
type RewardCoupon struct {
	Name string
	// Recall: the shop issues its coupons to named buyers; nobody claims
	// them, so a helper gets one only by helping.
	Recall bool
	// MaxSaving is the most one coupon of it can save.
	MaxSaving money.Fen
}

// Coupons is what the bargain asks of the coupon capability, so that neither
// package imports the other: read a template a reward names, and issue a
// helper one coupon of it.
type Coupons interface {
	// RewardCoupon reads a template; nil (and no error) if there is none.
	RewardCoupon(ctx context.Context, templateID string) (*RewardCoupon, error)
	// IssueReward issues buyerID one coupon of the template, once per key:
	// a second call with the same key issues nothing and succeeds. A
	// template that cannot issue (run out, ended) refuses with an
	// *errs.Error that is not Internal.
	IssueReward(ctx context.Context, templateID, buyerID, key string) error
}

// Service runs the bargain rules.
type Service struct {
	Store   Store
	Catalog Catalog
	Orders  Orders
	Buyers  Buyers
	// Coupons issues the rewards that name a coupon template; nil refuses
	// such rewards.
	Coupons Coupons
	Clock   clock.Clock
	Config  Config
	// Log records the coupon rewards that could not be issued; nil logs
	// to slog.Default().
	Log *slog.Logger
}

func (s *Service) config() Config { return s.Config.withDefaults() }

// sku returns the SKU an activity names, nil if there is none.
func (s *Service) sku(ctx context.Context, id string) (*catalog.SKUWithProduct, error) {
	if !ids.Valid(id) {
		return nil, nil
	}
	found, err := s.Catalog.SKUs(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	sp, ok := found[id]
	if !ok {
		return nil, nil
	}
	return &sp, nil
}

func (s *Service) terms(ctx context.Context, in ActivityInput) (Activity, error) {
	sp, err := s.sku(ctx, in.SKUID)
	if err != nil {
		return Activity{}, err
	}
	var sku *catalog.SKU
	if sp != nil {
		sku = &sp.SKU
	}
	tpl, err := s.rewardCoupon(ctx, in.Reward)
	if err != nil {
		return Activity{}, err
	}
	return s.config().activityTerms(in, sku, tpl)
}

// rewardCoupon reads the coupon template a reward names; nil if it names
// none, or one that does not exist.
func (s *Service) rewardCoupon(ctx context.Context, r *Reward) (*RewardCoupon, error) {
	if r == nil || r.CouponTemplateID == "" || s.Coupons == nil || !ids.Valid(r.CouponTemplateID) {
		return nil, nil
	}
	return s.Coupons.RewardCoupon(ctx, r.CouponTemplateID)
}

// CreateActivity records a draft activity.
func (s *Service) CreateActivity(ctx context.Context, in ActivityInput) (*Activity, error) {
	a, err := s.terms(ctx, in)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	a.ID, a.Status, a.CreatedAt, a.UpdatedAt = ids.New(), Draft, now, now
	if err := s.Store.CreateBargainActivity(ctx, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// UpdateActivity replaces a draft's terms. A published activity is fixed:
// its bargains were opened, and its schedule shown, on those terms.
func (s *Service) UpdateActivity(ctx context.Context, id string, in ActivityInput) (*Activity, error) {
	t, err := s.terms(ctx, in)
	if err != nil {
		return nil, err
	}
	return s.Store.UpdateBargainActivity(ctx, id, func(a *Activity) error {
		if a.Status != Draft {
			return ErrNotDraft
		}
		t.ID, t.Status, t.Sold, t.CreatedAt, t.UpdatedAt = a.ID, a.Status, a.Sold, a.CreatedAt, s.Clock.Now()
		*a = t
		return nil
	})
}

// Activity returns an activity as an operator sees it.
func (s *Service) Activity(ctx context.Context, id string) (*Activity, error) {
	return s.Store.BargainActivity(ctx, id)
}

// PublicActivity returns an activity as a buyer may see it: a draft is
// nobody's business but the operators'.
func (s *Service) PublicActivity(ctx context.Context, id string) (*Activity, error) {
	a, err := s.Store.BargainActivity(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Status == Draft {
		return nil, ErrActivityNotFound
	}
	return a, nil
}

// Activities lists activities for the operators.
func (s *Service) Activities(ctx context.Context, f ActivityFilter) (ActivityPage, error) {
	return s.Store.BargainActivities(ctx, f)
}

// facts is what the activity states about itself for the compliance lint,
// measured against the SKU's regular (sale) price.
func facts(a *Activity, regular catalog.SKU) compliance.Facts {
	return compliance.Facts{
		RegularPrice: regular.SalePrice, Reward: a.rewardValue(), MaxDepth: a.MaxDepth,
		StartsAt: a.StartsAt, EndsAt: a.EndsAt, Rules: a.Rules, ShareNotice: a.ShareNotice,
		Schedule: &compliance.Schedule{Shown: a.ShowSchedule, From: a.FromPrice, Floor: a.FloorPrice, Cuts: a.Preview()},
	}
}

// Checks runs the compliance lint on an activity, in any state: an operator
// reads every check's result before (and after) publishing.
func (s *Service) Checks(ctx context.Context, id string) (compliance.Report, error) {
	a, err := s.Store.BargainActivity(ctx, id)
	if err != nil {
		return compliance.Report{}, err
	}
	sp, err := s.sku(ctx, a.SKUID)
	if err != nil {
		return compliance.Report{}, err
	}
	var sku catalog.SKU
	if sp != nil {
		sku = sp.SKU
	}
	return compliance.Lint(facts(a, sku)), nil
}

// Publish puts a draft live once it passes every compliance check (DOMAIN.md,
// "Compliance lines"): a failed check refuses it, each failure named.
func (s *Service) Publish(ctx context.Context, id string) (*Activity, error) {
	a, err := s.Store.BargainActivity(ctx, id)
	if err != nil {
		return nil, err
	}
	sp, err := s.sku(ctx, a.SKUID)
	if err != nil {
		return nil, err
	}
	if sp == nil || sp.Product.Status != catalog.OnSale {
		return nil, ErrSKUUnavailable
	}
	now := s.Clock.Now()
	return s.Store.UpdateBargainActivity(ctx, id, func(a *Activity) error {
		if a.Status != Draft {
			return ErrNotDraft
		}
		if !now.Before(a.EndsAt) {
			return errs.Field("ends_at", "activity_over", "the activity's window has passed")
		}
		if a.FromPrice > sp.SKU.ListPrice {
			return errs.Field("from_price", "over_list_price", "from_price must be at most the SKU's list price, %d fen", sp.SKU.ListPrice)
		}
		if err := compliance.Lint(facts(a, sp.SKU)).Err(); err != nil {
			return err
		}
		a.Status, a.PublishedAt, a.UpdatedAt = Published, &now, now
		return nil
	})
}

// End stops an activity: no bargain opens on it any more. Bargains already
// open run to their own expiry, on the terms their helpers were shown.
func (s *Service) End(ctx context.Context, id string) (*Activity, error) {
	return s.Store.UpdateBargainActivity(ctx, id, func(a *Activity) error {
		if a.Status == Ended {
			return ErrAlreadyEnded
		}
		now := s.Clock.Now()
		a.Status, a.EndedAt, a.UpdatedAt = Ended, &now, now
		return nil
	})
}

// Open opens a bargain for buyerID on an activity, or returns the one they
// have open on it: opening is safe to repeat. The schedule is fixed now.
func (s *Service) Open(ctx context.Context, buyerID, activityID string) (*Bargain, error) {
	a, err := s.PublicActivity(ctx, activityID)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	if a.Status != Published || now.Before(a.StartsAt) || !now.Before(a.EndsAt) {
		return nil, ErrActivityNotOpen
	}
	if a.Sold >= a.Quota {
		return nil, ErrSoldOut
	}
	expires := now.Add(time.Duration(a.BargainHours) * time.Hour)
	if a.EndsAt.Before(expires) {
		expires = a.EndsAt
	}
	b := &Bargain{
		ID: ids.New(), ActivityID: a.ID, InitiatorID: buyerID, SKUID: a.SKUID,
		From: a.FromPrice, Floor: a.FloorPrice, Schedule: a.Preview(), Price: a.FromPrice, Status: Open,
		BuyAtCurrent: a.BuyAtCurrent, PayHours: a.PayHours, Reward: a.Reward,
		ExpiresAt: expires, CreatedAt: now, UpdatedAt: now,
	}
	got, _, err := s.Store.OpenBargain(ctx, b, a.PerBuyerLimit,
		[]outbox.Event{event(TopicOpened, b, nil, now)}, []jobs.Job{expireJob(b)})
	return got, err
}

// Bargain returns a bargain.
func (s *Service) Bargain(ctx context.Context, id string) (*Bargain, error) {
	return s.Store.Bargain(ctx, id)
}

// Bargains lists bargains for the operators.
func (s *Service) Bargains(ctx context.Context, f BargainFilter) (BargainPage, error) {
	return s.Store.Bargains(ctx, f)
}

// Helps lists helps for the operators (the held ones wait for a decision).
func (s *Service) Helps(ctx context.Context, f HelpFilter) (HelpPage, error) {
	return s.Store.BargainHelps(ctx, f)
}
