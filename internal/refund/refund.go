// Package refund owns giving money back: a buyer's after-sale request on the
// lines of a paid order and the operator's decision on it, finance's direct
// refund, the amounts (exact to the fen, from what each line really paid),
// and the intent-send-result protocol with the payment platform.
//
// A refund is never sent inside a database transaction that could roll back
// after the money left. It moves in three steps, each one safe to repeat:
//
//  1. intent: one transaction records the refund ("pending"), reserves its
//     amounts against what the order paid (conditional updates, so two
//     refunds started at once cannot together exceed it), writes its pending
//     ledger transfer, its event and the "refund.send" job;
//  2. send: the job asks the platform to refund, always with the same
//     out_refund_no, by which the platform is idempotent; a network failure
//     or a crash retries it, and a retry can only find the refund made;
//  3. result: the platform's answer (to the send, a callback or a query) is
//     applied by ApplyRefundResult, the one idempotent path that moves the
//     refund and settles its transfers.
//
// The side effects of a refund (stock back, coupons and points returned,
// commission reversed) are consumers of the refund.succeeded event.
package refund

import (
	"context"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

// Platform rules (WeChat Pay API v3, DOMAIN.md "Payments and login"). They
// are the platform's, not the operator's, so they are not configuration.
const (
	// MaxRefunds is how many refunds one order may have. A closed refund
	// still counts: whether the platform counts a refund it closed is not
	// documented, and refusing the 50th locally is better than having the
	// platform refuse it after the buyer was told it was coming.
	MaxRefunds = 50
	// Window is how long after payment a refund may be started.
	Window = 365 * 24 * time.Hour
)

// Kind is what a buyer asks for.
type Kind string

const (
	RefundOnly   Kind = "refund_only"   // money back, the goods stay (or never left)
	ReturnRefund Kind = "return_refund" // the goods come back, then the money
)

// AfterSaleState is where an after-sale is.
//
//	requested -> approved (return_refund: waiting for the goods) -> refunding
//	requested -> refunding (refund_only: the refund starts on approval)
//	requested | approved -> rejected (operator) | withdrawn (buyer)
//	refunding -> refunded | failed (its refund closed; the buyer may ask again)
type AfterSaleState string

const (
	Requested AfterSaleState = "requested"
	Approved  AfterSaleState = "approved"
	Rejected  AfterSaleState = "rejected"
	Withdrawn AfterSaleState = "withdrawn"
	Refunding AfterSaleState = "refunding"
	Refunded  AfterSaleState = "refunded"
	Failed    AfterSaleState = "failed"
)

// Open reports whether an after-sale in this state still holds its lines:
// a line has at most one open after-sale at a time.
func (s AfterSaleState) Open() bool { return s == Requested || s == Approved || s == Refunding }

// LineQty is a number of units of one order line.
type LineQty struct {
	OrderLineID string `json:"order_line_id"`
	Qty         int    `json:"qty"`
}

// AfterSale is a buyer's request about lines of one order.
type AfterSale struct {
	ID        string         `json:"id"`
	OrderID   string         `json:"order_id"`
	BuyerID   string         `json:"buyer_id"`
	Kind      Kind           `json:"kind"`
	Reason    string         `json:"reason"`
	Lines     []LineQty      `json:"lines"`
	State     AfterSaleState `json:"state"`
	Note      string         `json:"note,omitempty"`     // the operator's, on the last decision
	Operator  string         `json:"operator,omitempty"` // who made the last decision
	RefundID  string         `json:"refund_id,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// State is where a refund is.
//
//	pending -> processing -> succeeded | closed | abnormal
//	pending -> succeeded | closed | abnormal (the platform answered at once)
//	abnormal -> succeeded | closed (the platform, or an operator)
type State string

const (
	Pending    State = "pending"    // intent recorded; the platform may not know it yet
	Processing State = "processing" // the platform accepted it
	Succeeded  State = "succeeded"  // the money reached the buyer
	Closed     State = "closed"     // it will not happen; its amounts are free again
	Abnormal   State = "abnormal"   // the platform could not pay it out; an operator decides
)

// Final reports whether nothing more can happen to a refund in this state.
func (s State) Final() bool { return s == Succeeded || s == Closed }

// Source is who started a refund.
type Source string

const (
	FromAfterSale Source = "aftersale" // an approved after-sale
	ByFinance     Source = "finance"   // finance, directly
	Automatic     Source = "auto"      // the system: money that arrived for a closed order
	// Adjustment: the system lowering the price of a sale that stands (a
	// group buy's team ended at a better tier). Its lines take back no
	// units, and the order goes on to fulfilment.
	Adjustment Source = "adjustment"
)

// Line is what a refund gives back for one order line.
type Line struct {
	OrderLineID string    `json:"order_line_id"`
	SKUID       string    `json:"sku_id"`
	Qty         int       `json:"qty"`
	Amount      money.Fen `json:"amount"`
}

// Refund is one refund of (part of) one order's payment.
type Refund struct {
	ID          string `json:"id"`
	OrderID     string `json:"order_id"`
	BuyerID     string `json:"buyer_id"`
	PaymentID   string `json:"payment_id"`
	AfterSaleID string `json:"aftersale_id,omitempty"`
	OutTradeNo  string `json:"out_trade_no"`
	OutRefundNo string `json:"out_refund_no"` // our number at the platform, see OutRefundNo
	// Key, when set, makes the refund unique: starting another with the
	// same key gives this one back (the automatic refund of a payment
	// captured after its order closed is keyed by the payment).
	Key      string    `json:"-"`
	Source   Source    `json:"source"`
	Reason   string    `json:"reason"`
	Lines    []Line    `json:"lines"`
	Shipping money.Fen `json:"shipping"` // part of Amount: shipping goes back with the order's last unit
	Amount   money.Fen `json:"amount"`   // what the buyer gets back
	Fee      money.Fen `json:"fee"`      // the platform's fee it returns to the merchant
	Total    money.Fen `json:"total"`    // the payment's amount (the platform wants it)
	Full     bool      `json:"full"`     // it completes the order's refund: nothing is left paid
	Return   bool      `json:"return"`   // its units are back with the merchant: returned, or never shipped
	State    State     `json:"state"`
	// PlatformRefundID is the platform's number for the refund.
	PlatformRefundID string `json:"platform_refund_id,omitempty"`
	// Failure says why a refund closed or is abnormal.
	Failure string `json:"failure,omitempty"`
	// Resolution is the operator's decision on an abnormal refund.
	Resolution Resolution `json:"resolution,omitempty"`
	Note       string     `json:"note,omitempty"`
	Operator   string     `json:"operator,omitempty"` // who started it, or resolved it
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	SentAt     *time.Time `json:"sent_at,omitempty"`     // when the platform first accepted it
	FinishedAt *time.Time `json:"finished_at,omitempty"` // when it succeeded or closed
}

// OutRefundNo is a refund's number at the platform: its id without the
// dashes, 32 hex characters (WeChat Pay takes up to 64 of [0-9A-Za-z_|*@-]).
// It is fixed when the intent is recorded, so every send of the refund is
// the same request to the platform.
func OutRefundNo(refundID string) string { return strings.ReplaceAll(refundID, "-", "") }

// Resolution is an operator's decision on an abnormal refund.
type Resolution string

const (
	// RefundedOffline: the money reached the buyer another way (the
	// merchant platform's manual handling of an abnormal refund).
	RefundedOffline Resolution = "refunded_offline"
	// ResolvedClosed: the refund will not happen; its amounts are free.
	ResolvedClosed Resolution = "closed"
)

// Paid is the payment a refund gives back from, as the payment capability
// recorded it. It never changes once captured.
type Paid struct {
	PaymentID  string
	OrderID    string
	OutTradeNo string
	Amount     money.Fen
	Fee        money.Fen
	PaidAt     time.Time
}

// Position is what one order has paid and what of it is refunded. Refunded
// counts every refund not closed (pending, processing, abnormal and
// succeeded): money promised back is not available to another refund.
type Position struct {
	OrderID          string
	BuyerID          string
	OrderStatus      order.Status
	Shipping         money.Fen // the order's shipping
	Lines            []PositionLine
	Paid             Paid
	Refunded         money.Fen
	RefundedFee      money.Fen
	ShippingRefunded money.Fen
	Count            int // refunds started, closed ones included (see MaxRefunds)
	// NoGoods: the order sells no goods (order.ActivitySellsGoods: a
	// presale's deposit), so a refund of it gives no units back, whatever
	// its state: its lines' stock is the balance order's.
	NoGoods bool
}

// PositionLine is one order line and what of it is refunded.
type PositionLine struct {
	OrderLineID    string
	SKUID          string
	Qty            int
	Amount         money.Fen // what the line really paid, after every discount
	RefundedQty    int
	RefundedAmount money.Fen
}

// Change is what a store writes beside a refund, in the same transaction.
type Change struct {
	Transfers []ledger.Transfer // new transfers
	Post      []string          // pending transfers to post
	Void      []string          // pending transfers to void
	// Release gives the refund's amounts back to its order's position: a
	// closed refund no longer holds what it reserved.
	Release bool
	Events  []outbox.Event
	Jobs    []jobs.Job
}

// Intent is what CreateRefund needs before it can plan a refund.
type Intent struct {
	Paid Paid
	// AfterSaleID, if set, names the after-sale the refund is for: the
	// store locks it and hands it to the plan, and saves it with the refund.
	AfterSaleID string
	// Key, if set and a refund with it exists, makes CreateRefund return
	// that refund without planning another.
	Key string
}

// Plan decides a refund from the order's position (and its after-sale, if
// the intent names one, which it may change), inside the store's
// transaction. It returns the refund to record and what to write with it.
type Plan func(p *Position, a *AfterSale) (*Refund, Change, error)

// AfterSaleFilter selects after-sales.
type AfterSaleFilter struct {
	OrderID string
	BuyerID string // required on the buyer API
	State   AfterSaleState
	Cursor  string
	Limit   int
}

// AfterSalePage is one page of after-sales, newest first.
type AfterSalePage struct {
	AfterSales []AfterSale `json:"items"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// RefundFilter selects refunds.
type RefundFilter struct {
	OrderID string
	State   State
	Cursor  string
	Limit   int
}

// RefundPage is one page of refunds, newest first.
type RefundPage struct {
	Refunds    []Refund `json:"items"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// Page sizes of the listings.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Store keeps after-sales and refunds, and each order's refund position.
//
// Every write about the refunds of one order takes the order's position
// first (PostgreSQL: a row lock; SQLite: its one writer), then the refund or
// the after-sale: one lock order, so two writers on one order queue and
// never deadlock.
type Store interface {
	// CreateAfterSale inserts an after-sale with its events. A line that
	// has an open after-sale already fails the whole insert with
	// ErrAfterSaleOpen.
	CreateAfterSale(ctx context.Context, a *AfterSale, ev []outbox.Event) error
	AfterSale(ctx context.Context, id string) (*AfterSale, error)
	AfterSales(ctx context.Context, f AfterSaleFilter) (AfterSalePage, error)
	// UpdateAfterSale locks the after-sale, lets fn change it and writes it
	// with fn's events; an after-sale that is no longer open frees its
	// lines. fn returning ErrNoop writes nothing.
	UpdateAfterSale(ctx context.Context, id string, fn func(a *AfterSale) ([]outbox.Event, error)) (*AfterSale, error)

	// CreateRefund records a refund's intent in one transaction: it locks
	// the order's position (creating it from in.Paid and the order's lines
	// on the first refund), returns the refund with in.Key if there is one,
	// runs plan, then inserts the refund, reserves its amounts with
	// conditional updates (what is refunded never exceeds what was paid,
	// a line's units or MaxRefunds, whatever runs concurrently), saves the
	// after-sale, and writes the change's transfers, events and jobs.
	CreateRefund(ctx context.Context, in Intent, plan Plan) (*Refund, error)
	Refund(ctx context.Context, id string) (*Refund, error)
	RefundByOutRefundNo(ctx context.Context, outRefundNo string) (*Refund, error)
	Refunds(ctx context.Context, f RefundFilter) (RefundPage, error)
	// Position reads an order's position outside any change, for
	// validating a request and showing what is left to refund. An order
	// never refunded has its lines and nothing refunded (and no Paid).
	Position(ctx context.Context, orderID string) (*Position, error)
	// UpdateRefund locks the order's position, the refund and its
	// after-sale (nil if none), lets fn change the refund and the
	// after-sale, and writes both, the release, the settlements (before
	// the new transfers, which may spend what a settlement posted), the
	// transfers, events and jobs in one transaction. fn returning ErrNoop
	// writes nothing.
	UpdateRefund(ctx context.Context, outRefundNo string, fn func(r *Refund, a *AfterSale) (Change, error)) (*Refund, error)

	// RestockReturn puts a refund's units (returned, or never shipped)
	// back on hand, journalled with the refund as their reference, once: it
	// reports false, changing nothing, if this refund's units were put back
	// before (or there is no such refund).
	RestockReturn(ctx context.Context, refundID string, ms []inventory.Movement) (bool, error)
}
