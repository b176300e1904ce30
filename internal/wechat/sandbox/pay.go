package sandbox

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Pay simulates WeChat Pay API v3 for one merchant and one mini program:
// the endpoints the pay client calls (JSAPI prepay, order query and close,
// refund create and query), with the platform's signatures both ways, its
// rules, and its callbacks, which arrive late, more than once, or not at all
// as the platform's do, and as Inject tells them to.
//
// It keeps transactions and refunds in memory: a restart forgets them, as
// if the platform had lost them, which the shop's reconciliation must
// survive anyway.
//
// Two clocks: the signatures the SDK checks (responses) and makes
// (Authorization) use the wall clock, as the SDK does; everything else (the
// pay-by time, the 365-day refund window, success times, the timestamps of
// callbacks) uses PayConfig.Clock, which the shop's callback verifier
// should share.
type Pay struct {
	cfg       PayConfig
	now       func() time.Time
	gcm       cipher.AEAD
	mux       *http.ServeMux
	callbacks *http.Client
	log       *slog.Logger

	mu         sync.Mutex
	seq        int64
	byTrade    map[string]*txn
	byPrepay   map[string]*txn
	byTxID     map[string]*txn
	refunds    map[string]*refundRec
	faults     map[string]Faults
	held       map[string][]*notice
	deliveries []Delivery

	closed  bool
	pending int           // callbacks and refunds under way
	idle    chan struct{} // closed when pending reaches zero
	ctx     context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// PayConfig configures a simulator. The keys are the counterparts of the
// pay client's: it verifies requests with the merchant's public key and
// signs with the platform's private key.
type PayConfig struct {
	AppID, MchID   string
	MerchantSerial string         // the serial_no the client's Authorization must name
	MerchantKey    *rsa.PublicKey // verifies the client's requests
	PlatformKeyID  string         // sent as Wechatpay-Serial
	PlatformKey    *rsa.PrivateKey
	APIv3Key       string // 32 bytes: encrypts callback resources

	// HTTP delivers callbacks to the notify_url of each prepay and refund:
	// in process, &http.Client{Transport: sandbox.Transport(app)}. Nil: a
	// plain client.
	HTTP  *http.Client
	Clock clock.Clock // nil: the wall clock
	// Compress divides the platform's callback retry schedule (15 s up to
	// 6 h, about 24 h in all); 0 or 1 keeps it real. Tests use a million.
	Compress int
	// RefundDelay is how long a refund stays PROCESSING before it ends
	// and its callback is sent; 0 ends it at once (still asynchronously).
	RefundDelay time.Duration
	Log         *slog.Logger // nil: discard
}

// The platform's callback retry schedule after a failed delivery (WeChat
// Pay v3 callback documentation): 15 attempts after the first, about a day.
var retrySchedule = []time.Duration{
	15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute, 10 * time.Minute,
	20 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 60 * time.Minute,
	3 * time.Hour, 3 * time.Hour, 3 * time.Hour, 6 * time.Hour, 6 * time.Hour,
}

// Platform rules the simulator enforces.
const (
	maxRefunds     = 50                   // partial refunds per transaction
	refundWindow   = 365 * 24 * time.Hour // after success_time
	prepayValidity = 2 * time.Hour        // a prepay_id's life when no time_expire is given
	maxRequestBody = 64 << 10
	maxDeliveryLog = 10_000
)

// Trade and refund states (WeChat's values).
const (
	stateNotPay  = "NOTPAY"
	stateSuccess = "SUCCESS"
	stateClosed  = "CLOSED"
	stateRefund  = "REFUND"

	refundProcessing = "PROCESSING"
	refundSuccess    = "SUCCESS"
	refundAbnormal   = "ABNORMAL"
	refundClosed     = "CLOSED"
)

type txn struct {
	outTradeNo, prepayID, transactionID string
	description, openID, notifyURL      string
	total                               money.Fen
	state                               string
	expire, created, paid               time.Time
	refunds                             []*refundRec
}

type refundRec struct {
	outRefundNo, refundID, reason, notifyURL string
	tx                                       *txn
	amount                                   money.Fen
	status                                   string
	created, succeeded                       time.Time
}

// Errors of PayOrder.
var (
	ErrNoSuchOrder  = errors.New("sandbox pay: no such order")
	ErrOrderExpired = errors.New("sandbox pay: the order's time_expire has passed")
	ErrOrderClosed  = errors.New("sandbox pay: the order is closed")
	ErrOrderPaid    = errors.New("sandbox pay: the order is already paid")
)

// NewPay returns a simulator. It panics on an incomplete config, a
// programming error in the wiring.
func NewPay(cfg PayConfig) *Pay {
	if cfg.MerchantKey == nil || cfg.PlatformKey == nil || cfg.MerchantSerial == "" || cfg.PlatformKeyID == "" {
		panic("sandbox.NewPay: merchant and platform keys and their serials are required")
	}
	block, err := aes.NewCipher([]byte(cfg.APIv3Key))
	if err != nil || len(cfg.APIv3Key) != 32 {
		panic("sandbox.NewPay: the APIv3 key must be 32 bytes")
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	p := &Pay{
		cfg: cfg, now: time.Now, gcm: gcm, callbacks: cfg.HTTP, log: cfg.Log,
		byTrade: map[string]*txn{}, byPrepay: map[string]*txn{}, byTxID: map[string]*txn{},
		refunds: map[string]*refundRec{}, faults: map[string]Faults{}, held: map[string][]*notice{},
	}
	if cfg.Clock != nil {
		p.now = cfg.Clock.Now
	}
	if p.callbacks == nil {
		p.callbacks = &http.Client{}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.ctx, p.stop = context.WithCancel(context.Background())
	p.idle = make(chan struct{})
	close(p.idle)

	p.mux = http.NewServeMux()
	p.mux.Handle("POST /v3/pay/transactions/jsapi", p.v3(p.prepay))
	p.mux.Handle("GET /v3/pay/transactions/out-trade-no/{no}", p.v3(p.query))
	p.mux.Handle("POST /v3/pay/transactions/out-trade-no/{no}/close", p.v3(p.close))
	p.mux.Handle("POST /v3/refund/domestic/refunds", p.v3(p.createRefund))
	p.mux.Handle("GET /v3/refund/domestic/refunds/{no}", p.v3(p.queryRefund))
	p.routeTransfers()
	p.mux.HandleFunc("POST /sandbox/pay", p.servePayer)
	p.mux.HandleFunc("POST /sandbox/faults", p.serveFaults)
	return p
}

// ServeHTTP serves the v3 endpoints, and POST /sandbox/pay, the payer.
func (p *Pay) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

// PayOrder is the buyer paying in the WeChat app: the transaction named by
// its out_trade_no or its prepay_id becomes SUCCESS and its
// TRANSACTION.SUCCESS callback is on its way. It refuses an order past its
// time_expire, a closed one and a paid one.
func (p *Pay) PayOrder(ref string) error {
	p.mu.Lock()
	n, err := p.payLocked(ref)
	p.mu.Unlock()
	if err != nil {
		return err
	}
	p.emit(n)
	return nil
}

func (p *Pay) payLocked(ref string) (*notice, error) {
	t := p.byPrepay[ref]
	if t == nil {
		t = p.byTrade[ref]
	}
	switch {
	case t == nil:
		return nil, ErrNoSuchOrder
	case t.state == stateClosed:
		return nil, ErrOrderClosed
	case t.state != stateNotPay:
		return nil, ErrOrderPaid
	case p.now().After(t.expire):
		return nil, ErrOrderExpired
	}
	now := p.now().Truncate(time.Second)
	p.seq++
	t.state, t.paid = stateSuccess, now
	t.transactionID = fmt.Sprintf("42000%s%015d", now.In(chinaTime).Format("20060102"), p.seq)
	p.byTxID[t.transactionID] = t
	return p.notice(eventTransactionSuccess, t.outTradeNo, "", t.notifyURL, "transaction", p.transactionJSON(t)), nil
}

// servePayer is PayOrder over HTTP, for a sandbox front end:
// {"prepay_id": "..."} or {"out_trade_no": "..."}; 204 when paid.
func (p *Pay) servePayer(w http.ResponseWriter, r *http.Request) {
	var in struct {
		PrepayID   string `json:"prepay_id"`
		OutTradeNo string `json:"out_trade_no"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxRequestBody)).Decode(&in); err != nil || (in.PrepayID == "") == (in.OutTradeNo == "") {
		writeJSON(w, http.StatusBadRequest, apiError{"PARAM_ERROR", "send prepay_id or out_trade_no"})
		return
	}
	ref := in.PrepayID
	if ref == "" {
		ref = in.OutTradeNo
	}
	err := p.PayOrder(ref)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, ErrNoSuchOrder):
		writeJSON(w, http.StatusNotFound, apiError{"ORDER_NOT_EXIST", err.Error()})
	case errors.Is(err, ErrOrderPaid):
		writeJSON(w, http.StatusConflict, apiError{"ORDERPAID", err.Error()})
	case errors.Is(err, ErrOrderClosed):
		writeJSON(w, http.StatusConflict, apiError{"ORDER_CLOSED", err.Error()})
	default:
		writeJSON(w, http.StatusConflict, apiError{"ORDER_EXPIRED", err.Error()})
	}
}

// serveFaults is Inject over HTTP, so a developer running the demo can
// provoke what the tests provoke: {"key": out_trade_no or out_refund_no,
// "drop", "duplicate", "delay_ms", "reorder", "fail_refund", "close_refund"};
// 204 when set. Only the simulator has this route: the platform has none.
func (p *Pay) serveFaults(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Key         string `json:"key"`
		Drop        bool   `json:"drop"`
		Duplicate   int    `json:"duplicate"`
		DelayMS     int    `json:"delay_ms"`
		Reorder     bool   `json:"reorder"`
		FailRefund  bool   `json:"fail_refund"`
		CloseRefund bool   `json:"close_refund"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxRequestBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.Key == "" || in.Duplicate < 0 || in.Duplicate > 50 ||
		in.DelayMS < 0 || in.DelayMS > 600_000 || (in.FailRefund && in.CloseRefund) {
		writeJSON(w, http.StatusBadRequest, apiError{"PARAM_ERROR",
			"send key, and at most: duplicate 0..50, delay_ms 0..600000, one of fail_refund and close_refund"})
		return
	}
	p.Inject(in.Key, Faults{Drop: in.Drop, Duplicate: in.Duplicate, Delay: time.Duration(in.DelayMS) * time.Millisecond,
		Reorder: in.Reorder, FailRefund: in.FailRefund, CloseRefund: in.CloseRefund})
	w.WriteHeader(http.StatusNoContent)
}

// Faults change how the callbacks of one order, or of one refund, are
// delivered.
type Faults struct {
	Drop      bool          // never deliver
	Duplicate int           // deliver each callback this many times at once (0 and 1: once)
	Delay     time.Duration // wait this long (not compressed) before the first attempt
	// Reorder holds a callback until the order's next one is due, then
	// delivers the newer first and the older right after its first
	// attempt: a refund callback before the payment callback, say.
	Reorder bool
	// FailRefund ends refunds ABNORMAL (REFUND.ABNORMAL) instead of
	// SUCCESS: the money left the merchant but did not reach the buyer.
	FailRefund bool
	// CloseRefund ends refunds CLOSED (REFUND.CLOSED): nothing was
	// refunded, and the amount can be refunded again.
	CloseRefund bool
}

// Inject sets the faults of the order with this out_trade_no, or of the
// refund with this out_refund_no (a refund's own faults replace its
// order's). The zero Faults clears them. Set them before the callback or
// refund they should change is due.
func (p *Pay) Inject(key string, f Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f == (Faults{}) {
		delete(p.faults, key)
		return
	}
	p.faults[key] = f
}

func (p *Pay) faultsLocked(outTradeNo, outRefundNo string) Faults {
	if f, ok := p.faults[outRefundNo]; ok && outRefundNo != "" {
		return f
	}
	return p.faults[outTradeNo]
}

// Flush waits until every callback and refund under way has finished:
// delivered, given up after the last retry, or dropped. A callback held by
// Reorder for a later one is not under way.
func (p *Pay) Flush(ctx context.Context) error {
	p.mu.Lock()
	idle := p.idle
	p.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops every callback and refund under way and waits for them.
func (p *Pay) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.stop()
	p.wg.Wait()
}

// spawn runs f as work under way, for Flush.
func (p *Pay) spawn(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.spawnLocked(f)
}

// spawnLocked is spawn for a caller holding p.mu. A closed simulator
// starts nothing.
func (p *Pay) spawnLocked(f func()) {
	if p.closed {
		return
	}
	if p.pending == 0 {
		p.idle = make(chan struct{})
	}
	p.pending++
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer func() {
			p.mu.Lock()
			p.pending--
			if p.pending == 0 {
				close(p.idle)
			}
			p.mu.Unlock()
		}()
		f()
	}()
}

// sleep waits d, reporting false if the simulator closed meanwhile.
func (p *Pay) sleep(d time.Duration) bool {
	if d <= 0 {
		return p.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.ctx.Done():
		return false
	}
}

func (p *Pay) compress(d time.Duration) time.Duration {
	if p.cfg.Compress > 1 {
		return d / time.Duration(p.cfg.Compress)
	}
	return d
}

// Delivery is one attempt to deliver a callback, or a callback dropped.
type Delivery struct {
	NotificationID string
	EventType      string
	OutTradeNo     string
	OutRefundNo    string
	Attempt        int    // 1 for the first; 0 for a dropped callback
	Status         int    // the answer's HTTP status; 0 when there was none
	Err            string // why there was no answer
	At             time.Time
}

// Deliveries returns the delivery attempts so far (the latest 10,000),
// oldest first.
func (p *Pay) Deliveries() []Delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Delivery(nil), p.deliveries...)
}

func (p *Pay) record(d Delivery) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recordLocked(d)
}

func (p *Pay) recordLocked(d Delivery) {
	if len(p.deliveries) >= maxDeliveryLog {
		p.deliveries = append(p.deliveries[:0], p.deliveries[len(p.deliveries)-maxDeliveryLog+1:]...)
	}
	p.deliveries = append(p.deliveries, d)
}

// httpsOnly is the platform's rule for notify_url.
func httpsOnly(u string) bool { return strings.HasPrefix(u, "https://") && len(u) > len("https://") }

func newNotificationID() string { return ids.New() }
