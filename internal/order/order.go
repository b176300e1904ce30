// Package order owns orders: their lines and amounts (from the pricing
// pipeline), the state machine, and the schedule around it (closing unpaid
// orders, confirming receipt). Placing an order reserves stock in the same
// transaction as the order, its outbox events and its close-unpaid job.
package order

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// Status is where an order is in its life.
type Status string

const (
	PendingPayment Status = "pending_payment"
	Paid           Status = "paid"
	Shipped        Status = "shipped"
	Delivered      Status = "delivered"
	Completed      Status = "completed"
	Cancelled      Status = "cancelled" // by the buyer, before paying
	Closed         Status = "closed"    // unpaid in time, or by an operator
	Refunded       Status = "refunded"  // paid, then refunded in full: nothing left to fulfil
)

// next lists the states each state may move to. States only move forward:
// there is no edge back, so a paid order can never be closed and a closed
// order can never be paid.
var next = map[Status][]Status{
	PendingPayment: {Paid, Cancelled, Closed},
	Paid:           {Shipped, Refunded},
	Shipped:        {Delivered, Completed, Refunded},
	Delivered:      {Completed, Refunded},
	Completed:      {Refunded},
}

// CanMove reports whether from -> to is an edge of the state machine.
func CanMove(from, to Status) bool {
	for _, s := range next[from] {
		if s == to {
			return true
		}
	}
	return false
}

// ShipTo is where the goods go; it is stored encrypted.
type ShipTo struct {
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Province string `json:"province"`
	City     string `json:"city"`
	District string `json:"district"`
	Detail   string `json:"detail"`
}

// Line is one SKU of an order, priced.
type Line struct {
	ID          string               `json:"id"`
	SKUID       string               `json:"sku_id"`
	ProductID   string               `json:"product_id"`
	Title       string               `json:"title"`
	Spec        string               `json:"spec"`
	Qty         int                  `json:"qty"`
	ListPrice   money.Fen            `json:"list_price"` // unit
	SalePrice   money.Fen            `json:"sale_price"` // unit
	Amount      money.Fen            `json:"amount"`     // what the buyer pays for the line
	Adjustments []pricing.Adjustment `json:"adjustments"`
}

// Order is one order.
type Order struct {
	ID          string     `json:"id"`
	BuyerID     string     `json:"buyer_id"`
	Status      Status     `json:"status"`
	Lines       []Line     `json:"lines"`
	Subtotal    money.Fen  `json:"subtotal"`
	Discount    money.Fen  `json:"discount"`
	Shipping    money.Fen  `json:"shipping"`
	Total       money.Fen  `json:"total"`
	ShipTo      ShipTo     `json:"ship_to"`
	Remark      string     `json:"remark,omitempty"`
	FromCart    bool       `json:"from_cart"`
	PayBy       time.Time  `json:"pay_by"`
	PaidAt      *time.Time `json:"paid_at,omitempty"`
	Carrier     string     `json:"carrier,omitempty"`
	TrackingNo  string     `json:"tracking_no,omitempty"`
	ShippedAt   *time.Time `json:"shipped_at,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	EndedAt     *time.Time `json:"ended_at,omitempty"` // cancelled or closed
	EndReason   string     `json:"end_reason,omitempty"`
	// Activity is the marketing activity the order was placed through, if
	// any: its price is the activity's (a team's tier, a bargain's reach).
	Activity *Activity `json:"activity,omitempty"`
	// Held: the order waits for its activity before it may ship (a group
	// buy's team still forming). Release lifts it; a held order can still
	// be refunded.
	Held      bool      `json:"held,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Activity names the marketing activity an order was placed through.
type Activity struct {
	Kind string `json:"kind"` // ActivityGroupBuy, ActivityBargain, ActivityFlashSale
	ID   string `json:"id"`   // the activity
	Ref  string `json:"ref"`  // the team or bargain within it
}

// Activity kinds.
const (
	ActivityGroupBuy = "group_buy"
	ActivityBargain  = "bargain"
	// ActivityFlashSale: Ref is the reservation (the winning ticket).
	ActivityFlashSale = "flash_sale"
	// The presale's orders (package presale), Ref the presale order:
	// ActivityPresale is a presale paid in full, an ordinary sale;
	// ActivityPresaleDeposit is the deposit (定金) of a presale paid in two
	// parts, ActivityPresaleBalance the balance (尾款), the sale of the goods.
	// The presale holds the stock of both (ActivityHoldsStock), and the
	// deposit sells no goods (ActivitySellsGoods).
	ActivityPresale        = "presale"
	ActivityPresaleDeposit = "presale_deposit"
	ActivityPresaleBalance = "presale_balance"
)

// Offer is an activity's terms for one order: set by the activity's own
// service from its rules, never by the buyer. Prices replace the sale price
// of each SKU ordered (the pricing pipeline's activity step); every line
// must have one.
type Offer struct {
	Activity Activity
	Prices   map[string]money.Fen // unit price per SKU id
	// PayBy, if set and sooner than the pay window, is when the order closes
	// unpaid: a team's seat cannot be held past the team's own deadline.
	PayBy time.Time
	// Hold keeps the paid order from shipping until Release.
	Hold bool
	// Runs, if set for a SKU, prices its units in runs of different unit
	// prices (a presale's price steps), replacing Prices for that SKU; the
	// runs add up to the line's quantity.
	Runs map[string][]Run
}

// SKUQty is how many units of one SKU an order holds.
type SKUQty struct {
	SKUID string
	Qty   int64
}

// StockUnits sums the order's units per SKU, sorted by SKU id. Stores
// reserve, release and commit stock in this order so that two transactions
// touching the same SKUs lock their stock rows in the same order and cannot
// deadlock each other.
//
// An order whose activity holds its stock (ActivityHoldsStock) has none.
func (o *Order) StockUnits() []SKUQty {
	if o.Activity != nil && ActivityHoldsStock(o.Activity.Kind) {
		return nil
	}
	var out []SKUQty
	for _, l := range o.Lines {
		i := slices.IndexFunc(out, func(u SKUQty) bool { return u.SKUID == l.SKUID })
		if i < 0 {
			out = append(out, SKUQty{SKUID: l.SKUID})
			i = len(out) - 1
		}
		out[i].Qty += int64(l.Qty)
	}
	slices.SortFunc(out, func(a, b SKUQty) int { return cmp.Compare(a.SKUID, b.SKUID) })
	return out
}

// StockEffect is what a transition does to the order's reserved stock.
type StockEffect int

const (
	StockNone    StockEffect = iota
	StockRelease             // give the reserved units back (cancel, close)
	StockCommit              // the units are sold: they leave on hand and reserved
)

// Change is what the store must write beside the updated order, in the same
// transaction.
type Change struct {
	Stock  StockEffect
	Events []outbox.Event
	Jobs   []jobs.Job
}

// ListFilter selects orders.
type ListFilter struct {
	BuyerID string // required on the buyer API
	Status  Status
	Cursor  string // opaque, from the previous page
	Limit   int
}

// Page is one page of orders, newest first.
type Page struct {
	Orders     []Order `json:"items"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// Store keeps orders.
type Store interface {
	// CreateOrder, in one transaction: reserves each line's quantity at the
	// online location with a conditional update (failing with
	// inventory.OutOfStock naming the first SKU short, and changing
	// nothing), journals the reservations, inserts the order and its lines,
	// removes the ordered SKUs from the buyer's cart if o.FromCart, and
	// writes the events and jobs.
	CreateOrder(ctx context.Context, o *Order, ev []outbox.Event, js []jobs.Job) error
	// Order returns one order; ErrNotFound if absent.
	Order(ctx context.Context, id string) (*Order, error)
	// Orders lists orders newest first.
	Orders(ctx context.Context, f ListFilter) (Page, error)
	// UpdateOrder locks the order, lets fn change it, and saves it with the
	// stock effect, events and jobs fn returns, in one transaction. If fn
	// fails nothing is written. Two concurrent updates of one order are
	// serialised: the second sees the first's result.
	UpdateOrder(ctx context.Context, id string, fn func(o *Order) (Change, error)) (*Order, error)
}
