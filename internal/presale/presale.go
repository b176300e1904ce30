// Package presale owns presales (预售) and their tiered price rises (阶梯涨价):
// DOMAIN.md's "limited presale -> flash sale -> tiered price rise", a
// presale selling for at most 3 days.
//
// A presale sells SKUs in one of two modes. Paid in full ("full"), a
// purchase is one ordinary order at the presale's price. Paid in two parts
// ("deposit"), the buyer pays a deposit (定金) now and the balance (尾款) in
// the balance window; the goods ship only once both are paid, by the
// promised shipping date. Each part is an ordinary order, paid, captured,
// refunded and booked through the order, payment, refund and ledger
// capabilities like any other:
//
//   - the deposit order (order.ActivityPresaleDeposit) pays the deposit: it
//     sells no goods (no shipping, never ships, a refund of it returns no
//     units) and stays held;
//   - the balance order (order.ActivityPresaleBalance), placed by the buyer
//     in the balance window, sells the goods at the price they bought at,
//     less the deposit, and ships like any order once paid.
//
// The presale itself holds the stock of a deposit purchase: reserved when
// the units are bought, committed when the balance is paid, released when
// the deposit is never paid or the balance window ends unpaid. The two
// orders hold none (order.ActivityHoldsStock), so a balance order that
// closes unpaid loses the buyer nothing while the window is open.
//
// A deposit whose balance is not paid in its window is forfeited, as the
// Civil Code has it (art. 587: a party who pays a deposit and fails to
// perform may not claim it back); the presale moves it on the ledger from
// sales revenue to forfeited deposits. The deposit is at most 20% of the
// price it secures (art. 586), a compliance check at publishing.
//
// Prices step up by units sold or by time, each step announced with the
// presale. Every unit pays the step it was sold at: the claim of a
// purchase's units is a conditional update, in the transaction that creates
// its order, that succeeds only while the units sold are where the
// purchase was priced (steps.go).
package presale

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

// Mode is how a presale is paid.
type Mode string

const (
	Full    Mode = "full"    // everything now: one order
	Deposit Mode = "deposit" // a deposit now, the balance in the balance window
)

// Basis is what moves a presale's price from one step to the next.
type Basis string

const (
	ByUnits Basis = "units" // the units sold of the SKU
	ByTime  Basis = "time"  // the time, on a schedule announced with the presale
)

// ActivityStatus is where a presale stands: only a draft is edited, only a
// published presale sells.
type ActivityStatus string

const (
	Draft     ActivityStatus = "draft"
	Published ActivityStatus = "published"
	Ended     ActivityStatus = "ended"
)

// ActivityStatuses lists every activity status.
var ActivityStatuses = []ActivityStatus{Draft, Published, Ended}

// Step is one price step of a SKU. By units, it starts at unit FromUnit
// (1-based: the first step starts at unit 1); by time, at FromTime (the
// first step at the presale's start).
type Step struct {
	FromUnit int        `json:"from_unit,omitempty"`
	FromTime *time.Time `json:"from_time,omitempty"`
	Price    money.Fen  `json:"price"`
}

// Item is one SKU a presale sells.
type Item struct {
	SKUID string `json:"sku_id"`
	// Quota is how many units the presale sells; Sold how many live or
	// paid purchases hold (a purchase whose first order ends unpaid gives
	// its units back).
	Quota int `json:"quota"`
	Sold  int `json:"sold"`
	// Deposit is the deposit per unit in deposit mode; 0 when paid in full.
	Deposit money.Fen `json:"deposit"`
	// Steps are the prices, in the order they apply.
	Steps []Step `json:"steps"`
}

// Activity is an operator's presale.
type Activity struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Rules       string         `json:"rules"`
	ShareNotice string         `json:"share_notice"`
	Status      ActivityStatus `json:"status"`
	Mode        Mode           `json:"mode"`
	Basis       Basis          `json:"basis"`
	// StartsAt and EndsAt bound the selling: at most 3 days.
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
	// BalanceStartsAt and BalanceEndsAt bound the balance window of a
	// deposit presale; it opens when the selling ends, or later.
	BalanceStartsAt *time.Time `json:"balance_starts_at,omitempty"`
	BalanceEndsAt   *time.Time `json:"balance_ends_at,omitempty"`
	// ShipsBy is the promised shipping date.
	ShipsBy       time.Time  `json:"ships_by"`
	PerBuyerLimit int        `json:"per_buyer_limit"`
	MaxDepth      int        `json:"max_depth"`
	Items         []Item     `json:"items"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	PublishedAt   *time.Time `json:"published_at,omitempty"`
	EndedAt       *time.Time `json:"ended_at,omitempty"`
}

// Item returns the activity's item of a SKU, nil if it sells none.
func (a *Activity) Item(skuID string) *Item {
	for i := range a.Items {
		if a.Items[i].SKUID == skuID {
			return &a.Items[i]
		}
	}
	return nil
}

// OrderStatus is where a purchase stands.
type OrderStatus string

const (
	Unpaid      OrderStatus = "unpaid"       // its first order (in full, or the deposit) is not paid yet
	DepositPaid OrderStatus = "deposit_paid" // the balance is due in the balance window
	Paid        OrderStatus = "paid"         // paid in full: the goods ship
	Closed      OrderStatus = "closed"       // its first order ended unpaid; its units came back
	Forfeited   OrderStatus = "forfeited"    // the balance window ended unpaid: the deposit is kept
	Refunded    OrderStatus = "refunded"     // refunded in full before or after it was paid in full
)

// OrderStatuses lists every purchase status.
var OrderStatuses = []OrderStatus{Unpaid, DepositPaid, Paid, Closed, Forfeited, Refunded}

// StockState is what the presale holds of a deposit purchase's stock.
type StockState string

const (
	NoStock       StockState = "none"      // paid in full: the order holds the stock
	StockReserved StockState = "reserved"  // reserved for the buyer until the balance is paid
	StockSold     StockState = "committed" // the balance is paid: the units left with the sale
	StockReleased StockState = "released"  // given back: never paid, forfeited or refunded
)

// Order is one buyer's purchase in a presale: its units, the prices they
// were bought at, and the orders that pay for it.
type Order struct {
	ID         string      `json:"id"`
	ActivityID string      `json:"activity_id"`
	SKUID      string      `json:"sku_id"`
	BuyerID    string      `json:"buyer_id"`
	Mode       Mode        `json:"mode"`
	Qty        int         `json:"qty"`
	FirstUnit  int         `json:"first_unit"` // the first of its units in the count of units sold
	Runs       []order.Run `json:"runs"`       // the unit prices its units were bought at
	Amount     money.Fen   `json:"amount"`     // the goods' price: the runs' sum
	Deposit    money.Fen   `json:"deposit"`    // the deposit, all units; 0 when paid in full
	Balance    money.Fen   `json:"balance"`    // Amount - Deposit
	AddressID  string      `json:"address_id"`
	Status     OrderStatus `json:"status"`
	// OrderID is the first order: the whole price, or the deposit.
	OrderID string `json:"order_id"`
	// BalanceOrderID is the live or paid balance order; empty when none.
	BalanceOrderID  string     `json:"balance_order_id,omitempty"`
	Stock           StockState `json:"stock"`
	BalanceStartsAt *time.Time `json:"balance_starts_at,omitempty"`
	BalanceEndsAt   *time.Time `json:"balance_ends_at,omitempty"`
	ShipsBy         time.Time  `json:"ships_by"`
	// Forfeited is the deposit kept when the balance went unpaid;
	// Reversals are the refunds of it finance made afterwards (goodwill),
	// each moved back from forfeited deposits once.
	Forfeited money.Fen  `json:"forfeited,omitempty"`
	Reversals []Reversal `json:"reversals,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	PaidAt    *time.Time `json:"paid_at,omitempty"` // paid in full
	EndedAt   *time.Time `json:"ended_at,omitempty"`
}

// Reversal is a refund of a forfeited deposit, and what of it came back
// out of forfeited deposits.
type Reversal struct {
	RefundID string    `json:"refund_id"`
	Amount   money.Fen `json:"amount"`
}

// reversed is what the reversals moved back in all.
func (o *Order) reversed() money.Fen {
	var sum money.Fen
	for _, r := range o.Reversals {
		sum += r.Amount
	}
	return sum
}

// MinPrice is the lowest unit price the purchase's units were bought at.
func (o *Order) MinPrice() money.Fen {
	var m money.Fen
	for i, r := range o.Runs {
		if i == 0 || r.Price < m {
			m = r.Price
		}
	}
	return m
}

// ActivityFilter selects activities, newest first.
type ActivityFilter struct {
	Status ActivityStatus
	Cursor string
	Limit  int
}

// ActivityPage is a page of activities.
type ActivityPage struct {
	Activities []Activity `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// OrderFilter selects purchases, newest first.
type OrderFilter struct {
	ActivityID string
	BuyerID    string // set to the caller on the buyer API
	Status     OrderStatus
	Cursor     string
	Limit      int
}

// OrderPage is a page of purchases.
type OrderPage struct {
	Orders     []Order `json:"items"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// Claim is what a purchase claims beside its order: Qty units of the
// SKU's quota, taken only while the units sold before it are within [From,
// To] (the counts at which its units fall on the steps it was priced at),
// and Qty of the buyer's limit over the presale.
type Claim struct {
	ActivityID string
	SKUID      string
	BuyerID    string
	Qty        int
	From, To   int
	Limit      int
}

// Change is what an update of a purchase writes beside it, in its
// transaction.
type Change struct {
	// Free gives the purchase's units back to the SKU's count and the
	// buyer's: its first order ended unpaid.
	Free bool
	// Stock moves the purchase's units at the online warehouse, journalled
	// with the purchase as the reference: inventory.Release or
	// inventory.Commit of what it holds reserved; "" moves nothing.
	Stock inventory.Reason
	// Order is an order to create with the change (the balance order).
	Order     *order.Draft
	Transfers []ledger.Transfer
	Events    []outbox.Event
	Jobs      []jobs.Job
}

// Store keeps presales and purchases.
type Store interface {
	// CreatePresale inserts a draft with its items.
	CreatePresale(ctx context.Context, a *Activity) error
	// Presale reads one with its items; ErrActivityNotFound if absent.
	Presale(ctx context.Context, id string) (*Activity, error)
	// UpdatePresale locks the activity, lets fn change it and saves it; a
	// draft's items are replaced, a published one's never change (their
	// counts are the claims'). An error from fn changes nothing.
	UpdatePresale(ctx context.Context, id string, fn func(a *Activity) error) (*Activity, error)
	// Presales lists a page, newest first, with their items.
	Presales(ctx context.Context, f ActivityFilter) (ActivityPage, error)

	// BuyPresale, in one transaction: claims the units (ErrStepMoved when
	// the SKU's count is outside the claim's range, ErrSoldOut past the
	// quota, ErrNotOpen unless the activity is published), the buyer's
	// units (ErrLimitReached), reserves the stock when o.Stock is
	// StockReserved (inventory.OutOfStock), inserts o with its FirstUnit
	// set by the claim, the events and the jobs, and creates the draft's
	// order.
	BuyPresale(ctx context.Context, c Claim, o *Order, d *order.Draft, ev []outbox.Event, js []jobs.Job) error
	// PresaleOrder reads a purchase; ErrOrderNotFound if absent.
	PresaleOrder(ctx context.Context, id string) (*Order, error)
	// PresaleOrderOf reads the purchase an order pays for (its first or
	// its balance order); ErrOrderNotFound if none.
	PresaleOrderOf(ctx context.Context, orderID string) (*Order, error)
	// PresaleOrders lists a page, newest first.
	PresaleOrders(ctx context.Context, f OrderFilter) (OrderPage, error)
	// UpdatePresaleOrder locks the purchase, lets fn change it, and writes
	// it with the change; ErrNoop from fn writes nothing and returns it as
	// it is.
	UpdatePresaleOrder(ctx context.Context, id string, fn func(o *Order) (Change, error)) (*Order, error)
	// LowestPrice is the lowest unit price charged for a SKU by orders
	// paid in [since, until]: ordinary lines (amount over quantity), and
	// presale purchases paid in full (their lowest step); ok is false when
	// nothing was charged.
	LowestPrice(ctx context.Context, skuID string, since, until time.Time) (price money.Fen, ok bool, err error)
}
