package presale

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/page"
)

// BuyInput is a buyer's purchase: how many units of which SKU, sent where.
// The price is the presale's; nothing in the input names one.
type BuyInput struct {
	BuyerID, ActivityID, SKUID string
	Qty                        int
	AddressID, Remark          string
}

// maxAttempts bounds how often a purchase is priced again when the units
// sold moved past a step between pricing and claiming: each attempt after
// the first follows a purchase that did succeed, so only a crowd buying
// the last units of a step waits, and never for long.
const maxAttempts = 8

// Buy makes a purchase: its units claimed at the steps they fall on, and
// its first order (the whole price, or the deposit) placed in the same
// transaction; in deposit mode the presale reserves the stock itself.
func (s *Service) Buy(ctx context.Context, in BuyInput) (*Order, *order.Order, error) {
	if err := checkBuy(in); err != nil {
		return nil, nil, err
	}
	if !ids.Valid(in.ActivityID) {
		return nil, nil, ErrActivityNotFound
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		po, o, err := s.buy(ctx, in)
		if !errors.Is(err, ErrStepMoved) {
			return po, o, err
		}
	}
	return nil, nil, ErrBusy
}

func checkBuy(in BuyInput) error {
	var l errs.List
	if !ids.Valid(in.SKUID) {
		l.Add("sku_id", "invalid_id", "sku_id must be the id of a SKU of the presale")
	}
	if in.Qty < 1 || in.Qty > MaxBuyerLimit {
		l.Add("qty", "out_of_range", "qty must be from 1 to %d", MaxBuyerLimit)
	}
	if !ids.Valid(in.AddressID) {
		l.Add("address_id", "invalid_id", "address_id must be the id of one of your addresses")
	}
	if !utf8.ValidString(in.Remark) || utf8.RuneCountInString(in.Remark) > MaxRemark {
		l.Add("remark", "too_long", "remark is at most %d characters", MaxRemark)
	}
	return l.Err()
}

func (s *Service) buy(ctx context.Context, in BuyInput) (*Order, *order.Order, error) {
	a, err := s.Store.Presale(ctx, in.ActivityID)
	if err != nil {
		return nil, nil, err
	}
	now := s.Clock.Now()
	switch {
	case a.Status == Draft:
		return nil, nil, ErrActivityNotFound
	case a.Status != Published || now.Before(a.StartsAt) || !now.Before(a.EndsAt):
		return nil, nil, ErrNotOpen
	}
	it := a.Item(in.SKUID)
	if it == nil {
		return nil, nil, ErrNotInPresale
	}
	if in.Qty > a.PerBuyerLimit {
		return nil, nil, ErrLimitReached
	}
	if it.Sold+in.Qty > it.Quota {
		return nil, nil, ErrSoldOut
	}
	q := it.quote(a.Basis, it.Sold, in.Qty, now)
	po := &Order{
		ID: ids.New(), ActivityID: a.ID, SKUID: it.SKUID, BuyerID: in.BuyerID, Mode: a.Mode, Qty: in.Qty,
		Runs: q.Runs, Amount: q.Amount(), AddressID: in.AddressID, Status: Unpaid, Stock: NoStock,
		ShipsBy: a.ShipsBy, CreatedAt: now, UpdatedAt: now,
	}
	offer := &order.Offer{Activity: order.Activity{Kind: order.ActivityPresale, ID: a.ID, Ref: po.ID},
		Runs: map[string][]order.Run{it.SKUID: q.Runs}}
	var js []jobs.Job
	if a.Mode == Deposit {
		po.Deposit = it.Deposit.Mul(in.Qty)
		po.Stock, po.BalanceStartsAt, po.BalanceEndsAt = StockReserved, a.BalanceStartsAt, a.BalanceEndsAt
		// The deposit is held for good: it never ships, its goods ship
		// with the balance order. It must be paid before the balance
		// window opens, so the balance is only ever asked of a deposit
		// that is settled.
		offer = &order.Offer{Activity: order.Activity{Kind: order.ActivityPresaleDeposit, ID: a.ID, Ref: po.ID},
			Prices: map[string]money.Fen{it.SKUID: it.Deposit}, Hold: true, PayBy: *a.BalanceStartsAt}
		js = append(js, balanceDueJob(po))
	}
	po.Balance = po.Amount - po.Deposit
	d, err := s.Orders.Prepare(ctx, order.PlaceInput{
		BuyerID: in.BuyerID, Lines: []order.LineInput{{SKUID: it.SKUID, Qty: in.Qty}},
		AddressID: in.AddressID, Remark: strings.TrimSpace(in.Remark), Offer: offer,
	})
	if err != nil {
		return nil, nil, err
	}
	po.OrderID = d.Order.ID
	c := Claim{ActivityID: a.ID, SKUID: it.SKUID, BuyerID: in.BuyerID, Qty: in.Qty, From: q.From, To: q.To, Limit: a.PerBuyerLimit}
	err = s.Store.BuyPresale(ctx, c, po, d, []outbox.Event{event(TopicBought, po, now)}, js)
	if err := order.PlaceError(err); err != nil {
		return nil, nil, err
	}
	return po, d.Order, nil
}

// PayBalance places the balance order of a buyer's deposit purchase in the
// balance window, or returns the one waiting to be paid: the goods at the
// steps they were bought at, less the deposit. It holds no stock (the
// presale holds the units until it is paid), so one that closes unpaid
// costs the buyer nothing while the window is open.
func (s *Service) PayBalance(ctx context.Context, buyerID, id, addressID string) (*order.Order, error) {
	if addressID != "" && !ids.Valid(addressID) {
		return nil, errs.Field("address_id", "invalid_id", "address_id must be the id of one of your addresses")
	}
	po, err := s.Order(ctx, buyerID, id)
	if err != nil {
		return nil, err
	}
	if err := balanceDue(po, s.Clock.Now()); err != nil {
		return nil, err
	}
	if po.BalanceOrderID != "" {
		o, err := s.Orders.Order(ctx, po.BalanceOrderID)
		if err != nil {
			return nil, err
		}
		if o.Status == order.PendingPayment {
			return o, nil
		}
		// Ended unpaid, its consumer not run yet: forget it here.
		if po, err = s.forgetBalance(ctx, po.ID, o.ID); err != nil {
			return nil, err
		}
		if err := balanceDue(po, s.Clock.Now()); err != nil {
			return nil, err
		}
	}
	if addressID == "" {
		addressID = po.AddressID
	}
	d, err := s.Orders.Prepare(ctx, order.PlaceInput{
		BuyerID: buyerID, Lines: []order.LineInput{{SKUID: po.SKUID, Qty: po.Qty}}, AddressID: addressID,
		Offer: &order.Offer{
			Activity: order.Activity{Kind: order.ActivityPresaleBalance, ID: po.ActivityID, Ref: po.ID},
			Runs:     map[string][]order.Run{po.SKUID: less(po.Runs, po.Deposit/money.Fen(po.Qty))},
			PayBy:    *po.BalanceEndsAt,
		},
	})
	if err != nil {
		return nil, err
	}
	_, err = s.Store.UpdatePresaleOrder(ctx, po.ID, func(o *Order) (Change, error) {
		if err := balanceDue(o, s.Clock.Now()); err != nil {
			return Change{}, err
		}
		if o.BalanceOrderID != "" {
			return Change{}, errs.E(errs.Conflict, "presale_balance_pending", "a balance order was placed meanwhile; try again")
		}
		o.BalanceOrderID, o.UpdatedAt = d.Order.ID, d.Order.CreatedAt
		return Change{Order: d}, nil
	})
	if err != nil {
		return nil, err
	}
	return d.Order, nil
}

// balanceDue is nil if the purchase's balance may be paid at now.
func balanceDue(po *Order, now time.Time) error {
	switch {
	case po.Mode != Deposit:
		return ErrNoBalance
	case po.Status == Unpaid:
		return ErrDepositUnpaid
	case po.Status == Paid:
		return ErrBalancePaid
	case po.Status != DepositPaid:
		return ErrOrderEnded
	case now.Before(*po.BalanceStartsAt) || !now.Before(*po.BalanceEndsAt):
		return errs.E(errs.Conflict, ErrBalanceWindow.Code, "the balance can be paid from %s until %s",
			po.BalanceStartsAt.Format(time.RFC3339), po.BalanceEndsAt.Format(time.RFC3339))
	}
	return nil
}

// forgetBalance clears a balance order that ended unpaid, if it is still
// the purchase's.
func (s *Service) forgetBalance(ctx context.Context, id, orderID string) (*Order, error) {
	return s.Store.UpdatePresaleOrder(ctx, id, func(o *Order) (Change, error) {
		if o.BalanceOrderID != orderID {
			return Change{}, ErrNoop
		}
		o.BalanceOrderID, o.UpdatedAt = "", s.Clock.Now()
		return Change{}, nil
	})
}

// Order returns a buyer's purchase; another buyer's is not found.
func (s *Service) Order(ctx context.Context, buyerID, id string) (*Order, error) {
	po, err := s.PresaleOrder(ctx, id)
	if err != nil {
		return nil, err
	}
	if po.BuyerID != buyerID {
		return nil, ErrOrderNotFound
	}
	return po, nil
}

// PresaleOrder is an operator's read of any purchase.
func (s *Service) PresaleOrder(ctx context.Context, id string) (*Order, error) {
	if !ids.Valid(id) {
		return nil, ErrOrderNotFound
	}
	return s.Store.PresaleOrder(ctx, id)
}

// PresaleOrders lists purchases newest first; the buyer API always sets
// f.BuyerID to the caller.
func (s *Service) PresaleOrders(ctx context.Context, f OrderFilter) (OrderPage, error) {
	f.Limit = page.Size(f.Limit, DefaultLimit, MaxLimit)
	return s.Store.PresaleOrders(ctx, f)
}
