// Package crm owns the private-domain pool's view of each buyer (DOMAIN.md,
// module 1; issue 7, "Layers, RFM and segments"): the four layers with
// their operator-set rules and the append-only history of moves between
// them, RFM scores by quintiles with named cells, manual and rule-made tags,
// and segments written as expressions over a buyer's profile.
//
// Profiles are derived data: the store computes them from orders, refunds,
// logins and share visits (in SQL, so a complete recompute never ships the
// order table to Go), incrementally for one buyer on an order event and
// completely on a schedule. Nothing here changes a price: segments choose
// whom to reach, never what they pay (DOMAIN.md, "Prices").
package crm

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
)

// Layer is a buyer's place in the pool.
type Layer string

const (
	New    Layer = "new"
	Active Layer = "active"
	Silent Layer = "silent"
	Loyal  Layer = "loyal"
	// Other: none of the four rules holds (a buyer registered a week ago
	// who logged in twice and bought nothing). DOMAIN.md names four layers;
	// a buyer who fits none is counted, not forced into one.
	Other Layer = "other"
)

// Layers lists the layers in the order their rules are tried: the first
// that holds wins, so a big spender who also visits often is loyal.
var Layers = []Layer{Loyal, Active, New, Silent, Other}

// Rules are the operator's layer and RFM settings. The defaults are
// DOMAIN.md's table (module 1) and a 365-day RFM window.
type Rules struct {
	NewDays          int       `json:"new_days"`           // new: registered within this many days, no paid order ever
	ActiveVisits     int       `json:"active_visits"`      // active: at least this many visit days ...
	ActiveWindowDays int       `json:"active_window_days"` // ... in this many days
	SilentDays       int       `json:"silent_days"`        // silent: no login for this many days
	LoyalSpent       money.Fen `json:"loyal_spent"`        // loyal: spent at least this much ...
	LoyalWindowDays  int       `json:"loyal_window_days"`  // ... in this many days
	RFMWindowDays    int       `json:"rfm_window_days"`    // RFM looks at paid orders in this many days
}

// DefaultRules are DOMAIN.md's numbers: new within 3 days, active at 5
// visits in 30 days, silent after 30 days without a login, loyal from 5000
// yuan in 365 days; RFM over 365 days.
var DefaultRules = Rules{NewDays: 3, ActiveVisits: 5, ActiveWindowDays: 30, SilentDays: 30,
	LoyalSpent: 500000, LoyalWindowDays: 365, RFMWindowDays: 365}

// Check refuses rules out of range, naming every bad field.
func (r Rules) Check() error {
	var l errsList
	l.rng("new_days", r.NewDays, 1, 365)
	l.rng("active_visits", r.ActiveVisits, 1, 366)
	l.rng("active_window_days", r.ActiveWindowDays, 1, 366)
	l.rng("silent_days", r.SilentDays, 1, 3650)
	l.rng("loyal_window_days", r.LoyalWindowDays, 1, 3650)
	l.rng("rfm_window_days", r.RFMWindowDays, 1, 3650)
	if r.LoyalSpent < 1 || r.LoyalSpent > 100_000_000_000 {
		l.add("loyal_spent", "out_of_range", "must be between 1 and 100000000000 fen")
	}
	if r.ActiveVisits > r.ActiveWindowDays {
		l.add("active_visits", "out_of_range", "cannot exceed active_window_days: a visit is a day")
	}
	return l.err()
}

// Profile is what a segment expression sees of a buyer: no personal data
// (the city is the default address's city, kept in the clear by identity;
// the name, phone and street are not here). Field names in expressions are
// the expr tags.
type Profile struct {
	BuyerID string `expr:"buyer_id" json:"buyer_id"`
	Layer   string `expr:"layer" json:"layer"`
	RFM     RFM    `expr:"rfm" json:"rfm"`
	Cell    string `expr:"cell" json:"cell"`
	City    string `expr:"city" json:"city"`
	// TotalSpent is what the paid orders in the RFM window came to, less
	// refunds, in fen; OrderCount counts them.
	TotalSpent int64 `expr:"total_spent" json:"total_spent"`
	OrderCount int   `expr:"order_count" json:"order_count"`
	// DaysSinceLastOrder is -1 for a buyer who never paid an order.
	DaysSinceLastOrder int      `expr:"days_since_last_order" json:"days_since_last_order"`
	DaysSinceSignup    int      `expr:"days_since_signup" json:"days_since_signup"`
	DaysSinceLogin     int      `expr:"days_since_login" json:"days_since_login"`
	VisitDays          int      `expr:"visit_days" json:"visit_days"` // in the active window
	Tags               []string `expr:"tags" json:"tags"`
}

// RFM are a buyer's scores, 1 to 5 (5 best); 0 for a buyer with no paid
// order in the window.
type RFM struct {
	R int `expr:"r" json:"r"`
	F int `expr:"f" json:"f"`
	M int `expr:"m" json:"m"`
}

// Row is a profile as stored: times, not ages, so it stays true as the
// clock moves on.
type Row struct {
	BuyerID      string
	Layer        Layer
	RFM          RFM
	City         string
	Spent        money.Fen
	Orders       int
	VisitDays    int
	LastOrderAt  *time.Time
	RegisteredAt time.Time
	LastLoginAt  time.Time
	Tags         []string
}

// Profile is the row as an expression sees it at now.
func (r Row) Profile(now time.Time) Profile {
	p := Profile{BuyerID: r.BuyerID, Layer: string(r.Layer), RFM: r.RFM, Cell: string(CellOf(r.RFM)), City: r.City,
		TotalSpent: int64(r.Spent), OrderCount: r.Orders, DaysSinceLastOrder: -1, VisitDays: r.VisitDays,
		DaysSinceSignup: days(now.Sub(r.RegisteredAt)), DaysSinceLogin: days(now.Sub(r.LastLoginAt)), Tags: r.Tags}
	if r.LastOrderAt != nil {
		p.DaysSinceLastOrder = days(now.Sub(*r.LastOrderAt))
	}
	if p.Tags == nil {
		p.Tags = []string{}
	}
	return p
}

func days(d time.Duration) int {
	if d < 0 {
		return 0
	}
	return int(d / (24 * time.Hour))
}

// Move is one change of a buyer's layer; moves are never rewritten.
type Move struct {
	BuyerID string    `json:"buyer_id"`
	From    Layer     `json:"from"` // "" for the buyer's first layer
	To      Layer     `json:"to"`
	At      time.Time `json:"at"`
}

// ScoreCount is how many buyers have one (R, F) pair: the grid the named
// cells are read from.
type ScoreCount struct {
	R, F, N int
}

// Segment is a named expression over the profile. A rule tag is a segment
// whose members also carry its name as a tag.
type Segment struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Expr      string    `json:"expr"`
	Tag       bool      `json:"tag"`     // a rule-made tag
	Members   int       `json:"members"` // as of the last recompute or event
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Store is what the crm needs of a store engine.
type Store interface {
	CRMRules(ctx context.Context) (Rules, error)
	SaveCRMRules(ctx context.Context, r Rules) error
	// RecomputeCRM computes profiles, layers (appending a move for every
	// changed layer) and RFM scores at now, in SQL: for every buyer when
	// buyerID is "", else for that buyer alone, scored against everyone
	// else's stored profile. It returns the number of moves.
	RecomputeCRM(ctx context.Context, r Rules, now time.Time, buyerID string) (int, error)
	CRMProfile(ctx context.Context, buyerID string) (*Row, error)
	// CRMProfiles pages through every profile by buyer id, after after.
	CRMProfiles(ctx context.Context, after string, limit int) ([]Row, error)
	CRMMoves(ctx context.Context, buyerID string) ([]Move, error)
	CRMLayerCounts(ctx context.Context) (map[Layer]int, error)
	CRMScoreCounts(ctx context.Context) ([]ScoreCount, error)

	CreateSegment(ctx context.Context, s *Segment) error
	UpdateSegment(ctx context.Context, s *Segment) error
	DeleteSegment(ctx context.Context, id string) error
	Segment(ctx context.Context, id string) (*Segment, error)
	Segments(ctx context.Context) ([]Segment, error)
	// ReplaceSegmentMembers sets a segment's whole membership (and, for a
	// rule tag, the tag on exactly those buyers).
	ReplaceSegmentMembers(ctx context.Context, seg *Segment, buyerIDs []string) error
	// SetBuyerSegments sets one buyer's memberships among segs.
	SetBuyerSegments(ctx context.Context, buyerID string, segs []Segment, member []bool) error

	// AddTag and RemoveTag keep an operator's manual tags.
	AddTag(ctx context.Context, buyerID, tag string, at time.Time) error
	RemoveTag(ctx context.Context, buyerID, tag string) error
}
