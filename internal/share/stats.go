package share

import (
	"context"
	"fmt"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
)

// Rates of a group, all exact integer arithmetic (no float near money):
//
//   - ShareRate: sharers / active buyers, in basis points. Active buyers are
//     the distinct buyers who made or opened a share in the period: the
//     fission funnel's own population (a shop-wide active count belongs to
//     analytics, which this package does not read).
//   - Conversion: credited orders / visits by others, in basis points.
//   - KFactor: new buyers brought / sharers, as a decimal string with two
//     places ("4.30"), rounded down; the sources quote it that way.
//
// A rate whose denominator is zero is 0 ("0.00").
type Rates struct {
	ShareRate  *money.BP `json:"share_rate_bp,omitempty"` // activities only: a lone sharer has no rate
	Conversion money.BP  `json:"conversion_bp"`
	KFactor    string    `json:"k_factor"`
}

// Row is one group's numbers, as the admin API shows them.
type Row struct {
	ActivityID     string    `json:"activity_id,omitempty"`
	SharerID       string    `json:"sharer_id,omitempty"`
	Sharers        int64     `json:"sharers"`
	Shares         int64     `json:"shares"`
	Visits         int64     `json:"visits"`
	UniqueVisitors int64     `json:"unique_visitors"`
	NewBuyers      int64     `json:"new_buyers"`
	Orders         int64     `json:"orders"`
	GMV            money.Fen `json:"gmv"`
	Rates
}

// SceneRow is one entry scene's funnel: visits through it, the orders
// those visits won, and the conversion between them.
type SceneRow struct {
	Scene          Scene     `json:"scene"`
	Visits         int64     `json:"visits"`
	UniqueVisitors int64     `json:"unique_visitors"`
	NewBuyers      int64     `json:"new_buyers"`
	Orders         int64     `json:"orders"`
	GMV            money.Fen `json:"gmv"`
	Conversion     money.BP  `json:"conversion_bp"` // orders / visits
}

// Stats are the fission numbers per activity, per sharer and per entry
// scene (every scene listed, in Scenes order, zeros included, so a
// dashboard's columns never move).
type Stats struct {
	Activities []Row      `json:"activities"`
	Sharers    []Row      `json:"sharers"`
	Scenes     []SceneRow `json:"scenes"`
}

// DefaultStatsLimit is how many sharers Stats lists when not told.
const DefaultStatsLimit = 20

// Stats counts shares, visits and credits under f and derives the rates.
// Sharers are listed by buyer id only: an operator sees no personal data.
func (s *Service) Stats(ctx context.Context, f StatsFilter) (Stats, error) {
	if f.To.IsZero() {
		f.To = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if f.From.IsZero() {
		f.From = time.Unix(0, 0).UTC()
	}
	if f.Limit <= 0 {
		f.Limit = DefaultStatsLimit
	}
	raw, err := s.Store.ShareStats(ctx, f)
	if err != nil {
		return Stats{}, err
	}
	out := Stats{Activities: []Row{}, Sharers: []Row{}}
	for _, a := range raw.Activities {
		r := row(a.Counts)
		r.ActivityID = a.ActivityID
		out.Activities = append(out.Activities, r)
	}
	for _, sc := range raw.Sharers {
		r := row(sc.Counts)
		r.SharerID, r.ShareRate = sc.SharerID, nil
		out.Sharers = append(out.Sharers, r)
	}
	byScene := make(map[Scene]Counts, len(raw.Scenes))
	for _, sc := range raw.Scenes {
		byScene[sc.Scene] = sc.Counts
	}
	for _, scene := range Scenes {
		c := byScene[scene]
		out.Scenes = append(out.Scenes, SceneRow{Scene: scene, Visits: c.Visits, UniqueVisitors: c.UniqueVisitors,
			NewBuyers: c.NewBuyers, Orders: c.Orders, GMV: c.GMV, Conversion: bp(c.Orders, c.Visits)})
	}
	return out, nil
}

func row(c Counts) Row {
	return Row{
		Sharers: c.Sharers, Shares: c.Shares, Visits: c.Visits, UniqueVisitors: c.UniqueVisitors,
		NewBuyers: c.NewBuyers, Orders: c.Orders, GMV: c.GMV,
		Rates: Rates{
			ShareRate:  ptr(bp(c.Sharers, c.ActiveBuyers)),
			Conversion: bp(c.Orders, c.Visits),
			KFactor:    ratio(c.NewBuyers, c.Sharers),
		},
	}
}

// bp is n/d in basis points, rounded down.
func bp(n, d int64) money.BP {
	if d == 0 {
		return 0
	}
	return money.BP(n * 10000 / d)
}

// ratio is n/d with two decimals, rounded down.
func ratio(n, d int64) string {
	if d == 0 {
		return "0.00"
	}
	h := n * 100 / d
	return fmt.Sprintf("%d.%02d", h/100, h%100)
}

func ptr[T any](v T) *T { return &v }
