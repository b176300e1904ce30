package membership

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/pricing"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// Service runs the tier rules.
type Service struct {
	Store Store
	Clock clock.Clock
}

var _ order.Members = (*Service)(nil)

// Program is the program in force.
func (s *Service) Program(ctx context.Context) (Program, error) {
	return s.Store.MembershipProgram(ctx)
}

// SetProgram checks and stores the operator's tiers. Buyers move to their
// new tiers as their growth next changes, or at the daily review.
func (s *Service) SetProgram(ctx context.Context, p Program) (Program, error) {
	var l errs.List
	if p.WindowDays < 1 || p.WindowDays > 3650 {
		l.Add("window_days", "out_of_range", "window_days is 1 to 3650")
	}
	if len(p.Tiers) < 1 || len(p.Tiers) > 10 {
		l.Add("tiers", "out_of_range", "1 to 10 tiers")
	}
	seen := map[string]bool{}
	for i, t := range p.Tiers {
		switch {
		case t.Code == "" || len(t.Code) > 30 || seen[t.Code]:
			l.Add("tiers", "invalid_code", "each tier needs a distinct code of at most 30 bytes")
		case t.Name == "" || len(t.Name) > 60:
			l.Add("tiers", "invalid_name", "each tier needs a name of at most 60 bytes")
		case i == 0 && t.Threshold != 0:
			l.Add("tiers", "first_tier_threshold", "the first tier starts at 0")
		case i > 0 && t.Threshold <= p.Tiers[i-1].Threshold:
			l.Add("tiers", "thresholds_not_rising", "each tier's threshold is above the one before")
		case t.DiscountBP < 0 || t.DiscountBP > 5000:
			l.Add("tiers", "out_of_range", "discount_bp is 0 to 5000")
		case len(t.Products) > 200:
			l.Add("tiers", "too_many_products", "at most 200 product_ids")
		}
		seen[t.Code] = true
		if p.Tiers[i].Products == nil {
			p.Tiers[i].Products = []string{}
		}
	}
	if err := l.Err(); err != nil {
		return Program{}, err
	}
	return p, s.Store.SetMembershipProgram(ctx, p, s.Clock.Now())
}

// Member evaluates the buyer's tier now, moving it (with its event) if
// the growth says so, and returns the standing.
func (s *Service) Member(ctx context.Context, buyerID string) (*Member, error) {
	p, tier, growth, err := s.standing(ctx, buyerID)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	stored, err := s.Store.MemberTier(ctx, buyerID)
	if err != nil {
		return nil, err
	}
	if stored != tier.Code {
		var ev *outbox.Event
		// A buyer's first standing at the lowest tier is not a change.
		if stored != "" || p.Rank(tier.Code) > 0 {
			dir := "up"
			if p.Rank(tier.Code) < p.Rank(stored) {
				dir = "down"
			}
			e := outbox.New(TopicTierChanged, buyerID, TierChanged{BuyerID: buyerID, From: stored, To: tier.Code,
				Direction: dir, Growth: growth, At: now}, now)
			ev = &e
		}
		if _, err := s.Store.SetMemberTier(ctx, buyerID, stored, tier.Code, growth, now, ev); err != nil {
			return nil, err
		}
	}
	m := &Member{BuyerID: buyerID, Tier: tier, Growth: growth, UpdatedAt: now}
	if r := p.Rank(tier.Code); r+1 < len(p.Tiers) {
		next := p.Tiers[r+1]
		m.Next = &next
	}
	return m, nil
}

// standing is the program, and the tier the buyer's growth reaches now.
func (s *Service) standing(ctx context.Context, buyerID string) (Program, Tier, money.Fen, error) {
	p, err := s.Store.MembershipProgram(ctx)
	if err != nil {
		return Program{}, Tier{}, 0, err
	}
	growth, err := s.Store.Growth(ctx, buyerID, s.Clock.Now().Add(-time.Duration(p.WindowDays)*24*time.Hour))
	if err != nil {
		return Program{}, Tier{}, 0, err
	}
	return p, p.TierFor(growth), growth, nil
}

// Benefits is what the buyer's tier takes off an order of skus, for the
// pricing pipeline's member step; nil when it takes nothing.
func (s *Service) Benefits(ctx context.Context, buyerID string, skus map[string]catalog.SKUWithProduct) (*pricing.Member, error) {
	// Read only: checkout prices by the growth as it stands and leaves
	// moving the stored tier to the consumers and the review.
	_, t, _, err := s.standing(ctx, buyerID)
	if err != nil {
		return nil, err
	}
	if t.DiscountBP == 0 && !t.FreeShipping {
		return nil, nil
	}
	pm := &pricing.Member{Ref: "member:" + t.Code, Rate: t.DiscountBP, FreeShipping: t.FreeShipping}
	if len(t.Products) > 0 {
		pm.SKUs = map[string]bool{}
		for id, sp := range skus {
			if slices.Contains(t.Products, sp.Product.ID) {
				pm.SKUs[id] = true
			}
		}
	}
	return pm, nil
}

// RegisterConsumers counts growth: what a paid order paid, less what
// refunds give back; each once, by its key. The tier follows at once.
func (s *Service) RegisterConsumers(d *outbox.Dispatcher) {
	d.On(order.TopicPaid, func(ctx context.Context, e outbox.Event) error {
		var ev order.Event
		if err := json.Unmarshal(e.Payload, &ev); err != nil {
			return err
		}
		return s.grow(ctx, "paid:"+ev.OrderID, "", ev.BuyerID, money.Fen(ev.Total))
	})
	d.On(refund.TopicSucceeded, func(ctx context.Context, e outbox.Event) error {
		var ev refund.RefundEvent
		if err := json.Unmarshal(e.Payload, &ev); err != nil {
			return err
		}
		// Only an order that counted counts down: money captured after
		// its order closed, and refunded, never grew anything.
		return s.grow(ctx, "refund:"+ev.RefundID, "paid:"+ev.OrderID, ev.BuyerID, -ev.Amount)
	})
}

func (s *Service) grow(ctx context.Context, key, requires, buyerID string, amount money.Fen) error {
	if _, err := s.Store.AddGrowth(ctx, key, requires, buyerID, amount, s.Clock.Now()); err != nil {
		return err
	}
	_, err := s.Member(ctx, buyerID)
	return err
}

// Review re-evaluates every buyer above the lowest tier: as the window
// slides, old spending stops counting and tiers come down. It returns how
// many buyers it looked at.
func (s *Service) Review(ctx context.Context) (int, error) {
	p, err := s.Store.MembershipProgram(ctx)
	if err != nil {
		return 0, err
	}
	n, after := 0, ""
	for {
		ids, err := s.Store.MembersAbove(ctx, p.Tiers[0].Code, after, 500)
		if err != nil {
			return n, err
		}
		for _, id := range ids {
			if _, err := s.Member(ctx, id); err != nil {
				return n, err
			}
		}
		n += len(ids)
		if len(ids) < 500 {
			return n, nil
		}
		after = ids[len(ids)-1]
	}
}
