package storetest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// fakePlatform is a payment.Gateway that keeps one transaction per
// out_trade_no the way the platform does (NOTPAY, then SUCCESS or CLOSED,
// never both) and answers what the test tells it to. The real gateway and
// its simulator are tested with the WeChat client; these tests are about
// what the payment domain and the stores do with the answers.
type fakePlatform struct {
	mu      sync.Mutex
	trades  map[string]*fakeTrade
	prepays int
	// down makes every call fail as a platform outage would.
	down bool
}

type fakeTrade struct {
	req      payment.PrepayRequest
	prepayID string
	state    payment.TradeState
	txID     string
	paidAt   time.Time
	// crossed: our close and the buyer's payment crossed at the platform,
	// which therefore answers the query NOTPAY and the close OK while the
	// money is in. Real platforms do not promise more than eventual
	// agreement, so the domain must survive this too.
	crossed bool
}

const (
	fakeAppID = "wx0000000000000001"
	fakeMchID = "1900000109"
)

func newFakePlatform() *fakePlatform { return &fakePlatform{trades: map[string]*fakeTrade{}} }

var errPlatformDown = errs.E(errs.Unavailable, "platform_down", "the payment platform does not answer")

func (g *fakePlatform) Prepay(_ context.Context, r payment.PrepayRequest) (string, payment.PayParams, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down {
		return "", payment.PayParams{}, errPlatformDown
	}
	g.prepays++
	t, ok := g.trades[r.OutTradeNo]
	switch {
	case !ok:
		t = &fakeTrade{req: r, prepayID: "wx" + ids.Token(14), state: payment.TradeNotPay}
		g.trades[r.OutTradeNo] = t
	case t.req != r:
		// WeChat Pay: the same out_trade_no with other parameters.
		return "", payment.PayParams{}, errs.E(errs.Conflict, "OUT_TRADE_NO_USED", "out_trade_no %s used with other parameters", r.OutTradeNo)
	case t.state != payment.TradeNotPay:
		return "", payment.PayParams{}, errs.E(errs.Conflict, "ORDER_CLOSED", "transaction %s is %s", r.OutTradeNo, t.state)
	}
	return t.prepayID, payment.PayParams{
		AppID: fakeAppID, TimeStamp: "1700000000", NonceStr: ids.Token(8),
		Package: "prepay_id=" + t.prepayID, SignType: "RSA", PaySign: "signed-" + ids.Token(8),
	}, nil
}

func (g *fakePlatform) QueryPayment(_ context.Context, outTradeNo string) (payment.Transaction, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down {
		return payment.Transaction{}, errPlatformDown
	}
	t, ok := g.trades[outTradeNo]
	if !ok {
		return payment.Transaction{}, payment.ErrTradeNotFound
	}
	tx := g.transaction(outTradeNo, t)
	if t.crossed {
		tx = payment.Transaction{AppID: fakeAppID, MchID: fakeMchID, OutTradeNo: outTradeNo, State: payment.TradeNotPay, Total: t.req.Amount}
	}
	return tx, nil
}

func (g *fakePlatform) ClosePayment(_ context.Context, outTradeNo string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down {
		return errPlatformDown
	}
	t, ok := g.trades[outTradeNo]
	switch {
	case !ok:
		return payment.ErrTradeNotFound
	case t.crossed:
		return nil
	case t.state == payment.TradeSuccess:
		return payment.ErrTradePaid
	}
	t.state = payment.TradeClosed
	return nil
}

func (g *fakePlatform) Refund(context.Context, payment.RefundRequest) (payment.RefundResult, error) {
	return payment.RefundResult{}, errors.New("fakePlatform: refunds are not part of these tests")
}

func (g *fakePlatform) QueryRefund(context.Context, string) (payment.RefundResult, error) {
	return payment.RefundResult{}, errors.New("fakePlatform: refunds are not part of these tests")
}

// pay is the buyer paying at the platform at the given time. It returns
// the transaction the success callback carries, or false if the platform
// refused (the transaction is closed).
func (g *fakePlatform) pay(outTradeNo string, at time.Time) (payment.Transaction, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.trades[outTradeNo]
	if !ok {
		panic("fakePlatform.pay: no prepay for " + outTradeNo)
	}
	if t.state == payment.TradeNotPay {
		t.state, t.txID, t.paidAt = payment.TradeSuccess, "4200"+ids.Token(14), at
	}
	if t.state != payment.TradeSuccess {
		return payment.Transaction{}, false
	}
	return g.transaction(outTradeNo, t), true
}

// cross makes the buyer's payment and our close cross at the platform:
// from now on it tells a query NOTPAY and a close OK, while pay still
// succeeds and the money arrives.
func (g *fakePlatform) cross(outTradeNo string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.trades[outTradeNo].crossed = true
}

// expire closes a transaction at the platform's own initiative (its
// time_expire passed).
func (g *fakePlatform) expire(outTradeNo string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.trades[outTradeNo].state = payment.TradeClosed
}

func (g *fakePlatform) setDown(down bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down = down
}

func (g *fakePlatform) trade(outTradeNo string) (fakeTrade, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.trades[outTradeNo]
	if !ok {
		return fakeTrade{}, false
	}
	return *t, true
}

func (g *fakePlatform) transaction(outTradeNo string, t *fakeTrade) payment.Transaction {
	tx := payment.Transaction{
		AppID: fakeAppID, MchID: fakeMchID, OutTradeNo: outTradeNo, State: t.state,
		Total: t.req.Amount, PayerOpenID: t.req.PayerOpenID,
	}
	if t.state == payment.TradeSuccess {
		tx.TransactionID, tx.PayerTotal, tx.SuccessTime = t.txID, t.req.Amount, t.paidAt
	}
	return tx
}

// fakePayers gives every buyer an openid derived from their id.
type fakePayers struct{}

func (fakePayers) OpenID(_ context.Context, buyerID string) (string, error) {
	return "o-" + buyerID, nil
}
