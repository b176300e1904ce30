package presale

import (
	"time"

	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

// Topics of the events a purchase writes, keyed by the purchase.
const (
	TopicBought      = "presale.bought"
	TopicDepositPaid = "presale.deposit_paid"
	TopicPaid        = "presale.paid" // paid in full: the goods ship
	TopicClosed      = "presale.closed"
	TopicForfeited   = "presale.forfeited"
	TopicRefunded    = "presale.refunded"
)

// JobBalanceDue ends a deposit purchase whose balance window is over: a
// balance not paid by then forfeits the deposit.
const JobBalanceDue = "presale.balance_due"

// Event is the payload of every purchase event.
type Event struct {
	PresaleOrderID string      `json:"presale_order_id"`
	ActivityID     string      `json:"activity_id"`
	BuyerID        string      `json:"buyer_id"`
	SKUID          string      `json:"sku_id"`
	Status         OrderStatus `json:"status"`
	Qty            int         `json:"qty"`
	Amount         money.Fen   `json:"amount"`
	Deposit        money.Fen   `json:"deposit"`
	Forfeited      money.Fen   `json:"forfeited,omitempty"`
}

func event(topic string, o *Order, at time.Time) outbox.Event {
	return outbox.New(topic, o.ID, Event{PresaleOrderID: o.ID, ActivityID: o.ActivityID, BuyerID: o.BuyerID,
		SKUID: o.SKUID, Status: o.Status, Qty: o.Qty, Amount: o.Amount, Deposit: o.Deposit, Forfeited: o.Forfeited}, at)
}

type jobPayload struct {
	PresaleOrderID string `json:"presale_order_id"`
}

func balanceDueJob(o *Order) jobs.Job {
	return jobs.New(JobBalanceDue, o.ID, *o.BalanceEndsAt, jobPayload{PresaleOrderID: o.ID})
}

// The ledger of a forfeited deposit. The deposit was booked as a payment
// like any other (Dr clearing:wechat / Cr revenue:merchant); once the buyer
// defaults it is no longer the price of goods but income from the
// forfeiture (Civil Code art. 587), so it moves to its own revenue account:
//
//	"presale_forfeit:<purchase>"                   Dr revenue:merchant F / Cr revenue:forfeited_deposits F
//	"presale_forfeit_reversal:<refund>" (goodwill)  Dr revenue:forfeited_deposits R / Cr revenue:merchant R
//
// A refund finance makes of a forfeited deposit afterwards debits sales
// revenue, as every refund does; the reversal gives sales revenue that
// amount back from the forfeited deposits, so each account ends where the
// facts put it. Both are keyed by their business object, so a retry
// cannot post twice.
const (
	ForfeitAccount  = "revenue:forfeited_deposits"
	KindForfeit     = "presale_forfeit"
	KindForfeitBack = "presale_forfeit_reversal"
)

// Account is the ledger account of forfeited deposits. It is created
// through the ledger store the first time a deposit is forfeited, not by a
// migration: the ledger's own suite expects a fresh book to hold the system
// accounts only.
var Account = ledger.Account{ID: ForfeitAccount, Name: "Forfeited presale deposits (Civil Code art. 587)", Kind: ledger.Revenue}

func forfeitTransfer(o *Order, at time.Time) ledger.Transfer {
	return ledger.Transfer{ID: KindForfeit + ":" + o.ID, Kind: KindForfeit, Ref: o.OrderID, State: ledger.Posted, CreatedAt: at,
		Entries: []ledger.Entry{ledger.Dr(ledger.MerchantRevenue, o.Forfeited), ledger.Cr(ForfeitAccount, o.Forfeited)}}
}

func forfeitReversal(o *Order, refundID string, amount money.Fen, at time.Time) ledger.Transfer {
	return ledger.Transfer{ID: KindForfeitBack + ":" + refundID, Kind: KindForfeitBack, Ref: o.OrderID, State: ledger.Posted,
		CreatedAt: at, Entries: []ledger.Entry{ledger.Dr(ForfeitAccount, amount), ledger.Cr(ledger.MerchantRevenue, amount)}}
}
