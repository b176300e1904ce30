// Package share owns share links and the attribution of sales to them: the
// signed token a buyer hands a friend, the visits it brings (with their
// entry scene), the credit of a paid order to the last share that touched
// its buyer, and the fission numbers an operator reads (shares, visits, new
// buyers, orders, GMV, share rate, conversion, K-factor).
//
// Nothing is unlocked by sharing. The platform's operating rules forbid
// induced sharing (诱导分享), so no method here returns, grants or changes a
// price, a coupon, stock or any other reward for the act of sharing: a
// share only records who brought whom. Rewards belong to a friend's real
// action (a purchase, a help) and are paid by the capabilities that own
// them (affiliate, bargain), reading the credits recorded here.
//
// A chain of shares is at most MaxDepth long: DOMAIN.md's compliance line
// for every fission play, and the line past which the anti-pyramid rules
// start to bite.
package share

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
)

// Disclosure is what a share card must say beside the share button
// (DOMAIN.md, compliance: "a share button says that the activity may cost
// the friend money"). It is part of every share the API hands out, so no
// front end can draw a share card without it.
const Disclosure = "好友参与活动可能需要付费 · Joining may cost your friend money"

// MaxDepth is the longest chain of shares: a share made by a visitor who
// arrived through a share of depth d has depth d+1, and one of depth
// MaxDepth cannot be shared further.
const MaxDepth = 3

// Visit limits. A refresh loop must not inflate a funnel that counts
// people, nor a script open thousands of links as one buyer: opening the
// same link again from the same entry within RepeatWindow, nothing else
// opened in between, is the same visit, and a buyer opens at most MaxVisitsPerHour links an hour (far more
// than a person taps through a chat). The limit is checked against the
// stored visits, so it holds across replicas; two requests at the same
// instant may each see the other not yet written, which overshoots by at
// most the number of concurrent requests, harmless for a funnel.
const (
	RepeatWindow     = 10 * time.Minute
	MaxVisitsPerHour = 120
)

// DefaultWindow is how long after a visit a paid order is still credited to
// the share: a week, the longest an activity may run.
const DefaultWindow = 7 * 24 * time.Hour

// TargetKind is what a share points at.
type TargetKind string

const (
	Product      TargetKind = "product"
	Team         TargetKind = "team"
	Bargain      TargetKind = "bargain"
	PromoterPage TargetKind = "promoter_page"
)

// TargetKinds lists every kind, in the order of their wire codes.
var TargetKinds = []TargetKind{Product, Team, Bargain, PromoterPage}

// Scene is how a visitor entered: DOMAIN.md measures conversion per entry.
type Scene string

const (
	ShareCard    Scene = "share_card"
	QRScan       Scene = "qr_scan"
	Article      Scene = "article"
	ChannelVideo Scene = "channel_video"
	Search       Scene = "search"
)

// Scenes lists every scene.
var Scenes = []Scene{ShareCard, QRScan, Article, ChannelVideo, Search}

// Share is one share link a buyer made.
type Share struct {
	ID         string     `json:"id"`
	SharerID   string     `json:"sharer_id"`
	TargetKind TargetKind `json:"target_kind"`
	TargetID   string     `json:"target_id"`
	ActivityID string     `json:"activity_id,omitempty"`
	Depth      int        `json:"depth"`
	ParentID   string     `json:"parent_id,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// Visit is one opening of a share link by a logged-in buyer. Every touch is
// kept; the latest one wins the credit.
type Visit struct {
	ID        string `json:"id"`
	ShareID   string `json:"share_id"`
	VisitorID string `json:"visitor_id"`
	// DeviceID is the device the link was opened on, when the client named
	// it: distribution binds the visitor with it, so accounts clustered on
	// one device show.
	DeviceID string    `json:"device_id,omitempty"`
	Scene    Scene     `json:"scene"`
	Own      bool      `json:"own"` // the sharer opened their own link: recorded, never credited
	At       time.Time `json:"at"`
}

// Touch is a visit with the share it opened.
type Touch struct {
	Visit Visit
	Share Share
}

// Credit is a paid order attributed to a share. One order is credited at
// most once (the stores hold a unique key on the order).
type Credit struct {
	OrderID  string    `json:"order_id"`
	ShareID  string    `json:"share_id"`
	SharerID string    `json:"sharer_id"`
	BuyerID  string    `json:"buyer_id"`
	Amount   money.Fen `json:"amount"`
	// NewBuyer: this was the buyer's first paid order, and a share brought it.
	NewBuyer bool `json:"new_buyer"`
	// Chain is the credited share and its ancestors, nearest first (at most
	// MaxDepth ids): who passed the link along, kept for the plays that
	// reward more than the last sharer.
	Chain []string `json:"chain"`
	// Scene is the entry scene of the visit that won the credit: DOMAIN.md
	// measures conversion per entry (a scan converts about 18%).
	Scene Scene     `json:"scene"`
	At    time.Time `json:"at"`
}

// StatsFilter selects what the stats count: shares made, visits made and
// orders credited in [From, To), of one activity or of all.
type StatsFilter struct {
	ActivityID string // "" for every activity (and shares of none)
	From, To   time.Time
	Limit      int // sharers listed, the best by GMV first
}

// Counts are the raw numbers of a group (an activity, or a sharer).
type Counts struct {
	Sharers        int64     // distinct buyers who made a share
	Shares         int64     // shares made
	Visits         int64     // visits by others than the sharer
	UniqueVisitors int64     // distinct visitors among them
	ActiveBuyers   int64     // distinct buyers who made or opened a share
	NewBuyers      int64     // credited orders that were their buyer's first
	Orders         int64     // credited orders
	GMV            money.Fen // what the credited orders paid
}

// ActivityCounts are the counts of one activity ("" for shares of none).
type ActivityCounts struct {
	ActivityID string
	Counts
}

// SharerCounts are the counts of one sharer under the filter.
type SharerCounts struct {
	SharerID string
	Counts
}

// SceneCounts are the counts of one entry scene: its visits by others
// (Visits, UniqueVisitors, and ActiveBuyers, the same visitors) and the
// credited orders its visits won (Orders, NewBuyers, GMV). No share is made
// through a scene: Sharers and Shares are zero.
type SceneCounts struct {
	Scene Scene
	Counts
}

// RawStats is what a store counts; the service turns it into rates.
type RawStats struct {
	Activities []ActivityCounts
	Sharers    []SharerCounts
	Scenes     []SceneCounts // the scenes with a visit or an order, by scene
}

// Store keeps shares, visits and credits.
type Store interface {
	// CreateShare records a share.
	CreateShare(ctx context.Context, s *Share) error
	// ShareByID returns a share; ErrNotFound if absent.
	ShareByID(ctx context.Context, id string) (*Share, error)
	// AddShareVisit records a visit of an existing share.
	AddShareVisit(ctx context.Context, v *Visit) error
	// ShareVisitsSince lists the buyer's visits after since, newest
	// first, at most limit of them.
	ShareVisitsSince(ctx context.Context, visitorID string, since time.Time, limit int) ([]Visit, error)
	// ShareVisited reports whether the buyer has opened the share.
	ShareVisited(ctx context.Context, visitorID, shareID string) (bool, error)
	// ShareTouches lists the buyer's visits of others' shares made in
	// [from, to], newest first, with their shares.
	ShareTouches(ctx context.Context, visitorID string, from, to time.Time) ([]Touch, error)
	// AddShareCredit records a credit unless its order already has one; it
	// reports whether this call recorded it.
	AddShareCredit(ctx context.Context, c *Credit) (bool, error)
	// ShareCredit returns the credit of an order; ErrNotCredited if none.
	ShareCredit(ctx context.Context, orderID string) (*Credit, error)
	// ShareStats counts under the filter: per activity (ordered by
	// activity id, none first), per sharer (by GMV, then orders, then
	// sharer id; at most f.Limit), and per entry scene (by scene).
	ShareStats(ctx context.Context, f StatsFilter) (RawStats, error)
}
