package affiliate

import (
	"context"
	"slices"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
)

// Status is a buyer's view of their place in distribution.
type Status struct {
	Promoter *Promoter `json:"promoter,omitempty"` // nil: never applied
	Earnings Earnings  `json:"earnings"`
	// BoundToMasked is the promoter who brought the buyer, masked.
	BoundToMasked string  `json:"bound_to,omitempty"`
	Program       Program `json:"-"`
}

// Mask shows an id as its first 4 and last 4 characters: enough for a
// promoter to tell their members apart, nothing to learn who they are
// (a downline's data is shown only with their separate consent, and
// siyu keeps none to show).
func Mask(id string) string {
	if len(id) <= 8 {
		return "****"
	}
	return id[:4] + "****" + id[len(id)-4:]
}

// MyStatus is a buyer's status: promoter or not, earnings, who brought
// them.
func (s *Service) MyStatus(ctx context.Context, buyerID string) (Status, error) {
	var st Status
	p, err := s.Store.Promoter(ctx, buyerID)
	switch {
	case err == nil:
		st.Promoter = p
		if st.Earnings, err = s.Store.Earnings(ctx, buyerID); err != nil {
			return Status{}, err
		}
	case !errs.Is(err, ErrNotPromoter.Code):
		return Status{}, err
	}
	b, err := s.Store.Binding(ctx, buyerID)
	switch {
	case err == nil:
		if !b.Expired(s.Clock.Now()) {
			st.BoundToMasked = Mask(b.PromoterID)
		}
	case !errs.Is(err, ErrNotBound.Code):
		return Status{}, err
	}
	return st, nil
}

// Earnings is one promoter's money.
func (s *Service) Earnings(ctx context.Context, promoterID string) (Earnings, error) {
	return s.Store.Earnings(ctx, promoterID)
}

// Commissions lists commissions: a promoter's (the orders they brought),
// or an order's.
func (s *Service) Commissions(ctx context.Context, f CommissionFilter) (CommissionPage, error) {
	f.Limit = Limit(f.Limit)
	return s.Store.Commissions(ctx, f)
}

// Team lists a promoter's team at one tier, masked. Tier 2 exists only if
// the program pays two tiers or more.
func (s *Service) Team(ctx context.Context, promoterID string, f TeamFilter) (TeamPage, error) {
	p, err := s.Program(ctx)
	if err != nil {
		return TeamPage{}, err
	}
	if f.Tier < 1 || f.Tier > min(p.Tiers, FreeTiers) {
		return TeamPage{}, errs.Field("tier", "out_of_range", "tier must be 1 to %d", min(p.Tiers, FreeTiers))
	}
	f.Limit = Limit(f.Limit)
	page, err := s.Store.AffiliateTeam(ctx, promoterID, f)
	for i := range page.Members {
		page.Members[i].Masked = Mask(page.Members[i].BuyerID)
	}
	return page, err
}

// Liability is what the shop owes promoters, from distribution's rows and
// from the ledger; Matches says they agree.
type Liability struct {
	Pending       money.Fen `json:"pending"`
	Available     money.Fen `json:"available"` // may be negative: clawbacks not yet netted
	Withdrawing   money.Fen `json:"withdrawing"`
	LedgerPending money.Fen `json:"ledger_pending"`
	// LedgerAvailable sums the promoters' accounts' available balances
	// (posted, less pending withdrawals).
	LedgerAvailable money.Fen `json:"ledger_available"`
	Matches         bool      `json:"matches"`
}

// Liability reads the commission liability and checks it against the
// ledger.
func (s *Service) Liability(ctx context.Context) (Liability, error) {
	e, err := s.Store.EarningsTotal(ctx)
	if err != nil {
		return Liability{}, err
	}
	bs, err := s.Book.Balances(ctx)
	if err != nil {
		return Liability{}, err
	}
	l := Liability{Pending: e.Pending, Available: e.Available, Withdrawing: e.Withdrawing}
	for _, b := range bs {
		switch {
		case b.Account.ID == PendingAccount:
			l.LedgerPending = b.Posted()
		case len(b.Account.ID) > len("promoter:") && b.Account.ID[:len("promoter:")] == "promoter:":
			l.LedgerAvailable += b.Available()
		}
	}
	l.Matches = l.Pending == l.LedgerPending && l.Available == l.LedgerAvailable
	return l, nil
}

// Top lists the promoters who earned most, at most limit.
func (s *Service) Top(ctx context.Context, limit int) ([]PromoterStats, error) {
	st, err := s.Store.PromoterStats(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(st, func(a, b PromoterStats) int {
		if a.Earned != b.Earned {
			return int(b.Earned - a.Earned)
		}
		return compareStrings(a.PromoterID, b.PromoterID)
	})
	return st[:min(len(st), Limit(limit))], nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Suspicion is a promoter flagged for an operator to look at, with why.
type Suspicion struct {
	PromoterStats
	Reasons []string `json:"reasons"`
}

// Thresholds of the suspicious list. A binding keeps the device it was
// made from when the client names one, so a cluster of accounts shows
// directly (device_cluster); one that hides its device still shows as
// what it leaves behind: many downlines whose orders are refunded.
const (
	suspectRefundShare = 50 // percent of orders brought that were refunded
	suspectMinOrders   = 3
	suspectRefunders   = 3 // downlines with a refunded order
)

// ClusterDownlines is how many of a promoter's downlines bound from one
// device make that device a cluster. Two is ordinary (a household sharing
// a phone, or one person's second account); three is past what either
// explains, and is the count at which bargain holds a device serving many
// helper accounts (device_many_accounts).
const ClusterDownlines = 3

// Suspicious lists promoters with self-purchases, refund-heavy orders,
// many refunding downlines or downlines clustered on a device, the worst
// first.
func (s *Service) Suspicious(ctx context.Context) ([]Suspicion, error) {
	st, err := s.Store.PromoterStats(ctx)
	if err != nil {
		return nil, err
	}
	out := []Suspicion{}
	for _, p := range st {
		var why []string
		if p.SelfPurchases > 0 {
			why = append(why, "self_purchases")
		}
		if p.Orders >= suspectMinOrders && p.RefundedOrders*100 >= p.Orders*suspectRefundShare {
			why = append(why, "refund_heavy_orders")
		}
		if p.RefundingBuyers >= suspectRefunders && p.RefundingBuyers*2 >= p.Downlines {
			why = append(why, "refunding_downlines")
		}
		if p.DeviceClusters > 0 {
			why = append(why, "device_cluster")
		}
		if len(why) > 0 {
			out = append(out, Suspicion{PromoterStats: p, Reasons: why})
		}
	}
	slices.SortStableFunc(out, func(a, b Suspicion) int { return len(b.Reasons) - len(a.Reasons) })
	return out, nil
}
