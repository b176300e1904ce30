package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// paymentColumns are read in the order scanPayment scans them.
const paymentColumns = `id, order_id, buyer_id, out_trade_no, amount, payer_openid, prepay_id, state,
	transaction_id, fee, paid_at, created_at, updated_at`

// CreatePayment inserts the payment and its jobs in the batch that begins
// the transaction. The unique order_id (and out_trade_no) make a second
// payment for the order ErrExists, however many requests race to create
// one; the insert skips rather than fails, so the batch runs to its end and
// the transaction is rolled back here.
func (s *Store) CreatePayment(ctx context.Context, p *payment.Payment, js []jobs.Job) error {
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	inserted := false
	b.Queue(`INSERT INTO payments (`+paymentColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT DO NOTHING`,
		p.ID, p.OrderID, p.BuyerID, p.OutTradeNo, p.Amount, p.PayerOpenID, p.PrepayID, p.State,
		p.TransactionID, p.Fee, p.PaidAt, p.CreatedAt, p.UpdatedAt).Exec(func(ct pgconn.CommandTag) error {
		inserted = ct.RowsAffected() == 1
		return nil
	})
	queueJobs(b, js)
	err := s.batchTx(ctx, b, func(pgx.Tx) error {
		if !inserted {
			return payment.ErrExists
		}
		return nil
	})
	if errors.Is(err, payment.ErrExists) {
		return payment.ErrExists
	}
	return errs.Wrap(err, "payment: create for order %s", p.OrderID)
}

// PaymentByOrder reads the payment of an order.
func (s *Store) PaymentByOrder(ctx context.Context, orderID string) (*payment.Payment, error) {
	// A string that is not a UUID would make PostgreSQL fail the query.
	if !ids.Valid(orderID) {
		return nil, payment.ErrNotFound
	}
	return s.readPayment(ctx, `order_id = $1`, orderID)
}

// PaymentByOutTradeNo reads the payment the platform knows by outTradeNo.
func (s *Store) PaymentByOutTradeNo(ctx context.Context, outTradeNo string) (*payment.Payment, error) {
	return s.readPayment(ctx, `out_trade_no = $1`, outTradeNo)
}

func (s *Store) readPayment(ctx context.Context, where string, arg any) (*payment.Payment, error) {
	p, err := scanPayment(s.pool.QueryRow(ctx, `SELECT `+paymentColumns+` FROM payments WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, payment.ErrNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "payment: read")
	}
	return p, nil
}

// UpdatePayment locks the payment and then its order, lets fn decide, and
// writes what fn decided in one transaction. Concurrent calls are grouped:
// up to maxPaymentBatch of them, for distinct payments, share one
// transaction (updatePaymentsTogether), so the callbacks of a busy minute
// share their commits' WAL flushes, and the captures of a best seller, which
// all commit stock on one row, no longer hold that row through one flush
// each. Every caller returns once the transaction holding its update has
// committed (or failed). Two updates of one payment never share a
// transaction: the second waits for the first to commit, locks the payment
// and reads what the first wrote.
//
// fn may run twice: when a grouped transaction fails (one capture's
// transfer is refused, say), each of its updates runs again in a
// transaction of its own, so that only the one at fault fails.
func (s *Store) UpdatePayment(ctx context.Context, outTradeNo string, fn func(p *payment.Payment, o *order.Order) (payment.Capture, error)) (*payment.Payment, error) {
	u := &paymentUpdate{outTradeNo: outTradeNo, fn: fn, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	if !s.updates.enqueue(u) {
		select {
		case <-u.lead:
		case <-u.done:
			select {
			case <-u.lead: // promoted as its update finished: pass the lead on
				s.updates.handOff()
			default:
			}
			return u.saved, u.err
		}
	}
	// A leader runs the updates waiting, its own among them, a group at a
	// time; the groups run with no cancellation of the leader's own, as they
	// carry other callers' updates.
	for {
		group := s.updates.take()
		if len(group) > 0 {
			s.updatePayments(context.WithoutCancel(ctx), group)
		}
		if len(group) == 0 || u.finished() {
			s.updates.handOff()
			break
		}
	}
	<-u.done
	return u.saved, u.err
}

// paymentUpdate is one UpdatePayment call waiting for its transaction.
type paymentUpdate struct {
	outTradeNo string
	fn         func(p *payment.Payment, o *order.Order) (payment.Capture, error)
	saved      *payment.Payment
	err        error
	done       chan struct{} // closed once saved and err are set
	lead       chan struct{} // receives when the call is to lead
	promoted   bool          // sent on lead; under paymentUpdates.mu
}

func (u *paymentUpdate) finished() bool {
	select {
	case <-u.done:
		return true
	default:
		return false
	}
}

// The grouping's bounds: transactions of grouped updates in flight at once
// (each holds a connection) and updates in one. Chosen on the callback
// benchmark (docs/benchmarks.md): four transactions of sixteen kept its 32
// deliverers' captures flowing; more would only queue on the same rows.
const (
	maxPaymentLeaders = 4
	maxPaymentBatch   = 16
)

// paymentUpdates is the queue of UpdatePayment calls. A call that finds
// fewer than maxPaymentLeaders leading becomes a leader: it runs groups of
// waiting updates until its own is done, then hands the lead to a call
// still waiting (or gives it up when none is). So no caller runs other
// callers' updates after its own has finished, and the updates that arrive
// while a group's transaction is in flight form the next group.
type paymentUpdates struct {
	mu      sync.Mutex
	waiting []*paymentUpdate
	leaders int
}

// enqueue adds u and reports whether its call leads.
func (q *paymentUpdates) enqueue(u *paymentUpdate) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.waiting = append(q.waiting, u)
	if q.leaders < maxPaymentLeaders {
		q.leaders++
		return true
	}
	return false
}

// take removes and returns the oldest waiting updates, up to
// maxPaymentBatch, at most one per payment; a second update of a payment
// waits for a later group.
func (q *paymentUpdates) take() []*paymentUpdate {
	q.mu.Lock()
	defer q.mu.Unlock()
	var group []*paymentUpdate
	in := make(map[string]bool)
	rest := q.waiting[:0]
	for _, u := range q.waiting {
		if len(group) < maxPaymentBatch && !in[u.outTradeNo] {
			in[u.outTradeNo] = true
			group = append(group, u)
			continue
		}
		rest = append(rest, u)
	}
	clear(q.waiting[len(rest):])
	q.waiting = rest
	return group
}

// handOff passes a leader's lead to the oldest waiting call not yet
// promoted, or gives it up.
func (q *paymentUpdates) handOff() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, u := range q.waiting {
		if !u.promoted {
			u.promoted = true
			u.lead <- struct{}{}
			return
		}
	}
	q.leaders--
}

// updatePayments runs a group of updates, sets their outcomes and wakes
// their callers. A group of one, or a group whose shared transaction
// failed, runs each update in a transaction of its own.
func (s *Store) updatePayments(ctx context.Context, group []*paymentUpdate) {
	defer func() {
		for _, u := range group {
			close(u.done)
		}
	}()
	if len(group) > 1 {
		if err := s.updatePaymentsTogether(ctx, group); err == nil {
			return
		}
	}
	for _, u := range group {
		u.saved, u.err = s.updatePayment(ctx, u.outTradeNo, u.fn)
	}
}

// lockedPayment is a payment and its order as the reads that lock them
// find them.
type lockedPayment struct {
	p          *payment.Payment
	found      bool
	o          *order.Order
	orderFound *bool
}

// queueLockPayment queues the reads that lock the payment, then its order
// (FOR UPDATE). The order id is the payment's, read by the same statement
// that locks the order: the payment row is locked already, and its order
// never changes.
func (s *Store) queueLockPayment(b *pgx.Batch, outTradeNo string) *lockedPayment {
	l := &lockedPayment{p: &payment.Payment{}}
	s.queueLockPaymentRow(b, outTradeNo, l)
	s.queueLockPaymentOrder(b, outTradeNo, l)
	return l
}

func (s *Store) queueLockPaymentRow(b *pgx.Batch, outTradeNo string, l *lockedPayment) {
	b.Queue(`SELECT `+paymentColumns+` FROM payments WHERE out_trade_no = $1 FOR UPDATE`, outTradeNo).QueryRow(func(row pgx.Row) error {
		got, err := scanPayment(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		*l.p, l.found = *got, true
		return nil
	})
}

func (s *Store) queueLockPaymentOrder(b *pgx.Batch, outTradeNo string, l *lockedPayment) {
	l.o, l.orderFound = s.queueLoadOrderBy(b, `(SELECT order_id FROM payments WHERE out_trade_no = $1)`, outTradeNo, "FOR UPDATE")
}

// decide runs fn on the locked payment and its order. write is false when
// fn found nothing to do (ErrNoop), saved then being the payment as it was.
func (l *lockedPayment) decide(fn func(p *payment.Payment, o *order.Order) (payment.Capture, error)) (saved *payment.Payment, c payment.Capture, write bool, err error) {
	if !l.found {
		return nil, c, false, payment.ErrNotFound
	}
	if !*l.orderFound {
		return nil, c, false, fmt.Errorf("payment %s: its order %s is missing", l.p.ID, l.p.OrderID)
	}
	before := *l.p
	c, err = fn(l.p, l.o)
	if errors.Is(err, payment.ErrNoop) {
		return &before, c, false, nil
	}
	if err != nil {
		return nil, c, false, err
	}
	return l.p, c, true, nil
}

// queuePaymentChange queues the writes of c: the payment, its events and
// jobs, the transfers (siyu_post_transfers, migrations 0007 and 0014), then
// the order's change. A capture only adds to its ledger accounts, so it
// appends its movements and locks no account row. The one row captures do
// share comes last: the order's stock (one row for all the buyers of a best
// seller), held only while the server finishes the batch and commits. With
// stock set, the order's stock effect is not queued but added to it, for
// the caller to queue.
func (s *Store) queuePaymentChange(w *pgx.Batch, p *payment.Payment, o *order.Order, c payment.Capture, stock *[]orderStockMove) error {
	transfers, err := distinctTransfers(c.Transfers)
	if err != nil {
		return err
	}
	w.Queue(`UPDATE payments SET prepay_id = $1, state = $2, transaction_id = $3, fee = $4,
		paid_at = $5, updated_at = $6 WHERE id = $7`,
		p.PrepayID, p.State, p.TransactionID, p.Fee, p.PaidAt, p.UpdatedAt, p.ID)
	queueEvents(w, c.Events)
	queueJobs(w, c.Jobs)
	if len(transfers) > 0 {
		queuePostTransfers(w, transfers)
	}
	if c.Order == nil {
		return nil
	}
	oc := *c.Order
	if reason, ok := orderStockReason[oc.Stock]; ok && stock != nil {
		for _, u := range o.StockUnits() {
			*stock = append(*stock, orderStockMove{o: o, sku: u.SKUID, reason: reason})
		}
		oc.Stock = order.StockNone
	}
	return s.queueOrderChange(w, o, oc)
}

// orderStockMove is one SKU of an order's stock effect.
type orderStockMove struct {
	o      *order.Order
	sku    string
	reason inventory.Reason
}

// queueOrderStockMoves queues the moves in SKU order, each for its SKU
// alone: a group of captures then takes its stock rows in the order every
// other writer of stock takes them (siyu_move_stock's callers sort by SKU),
// and cannot deadlock with one.
func queueOrderStockMoves(w *pgx.Batch, ms []orderStockMove) {
	slices.SortFunc(ms, func(a, b orderStockMove) int {
		return cmp.Or(strings.Compare(a.sku, b.sku), strings.Compare(a.o.ID, b.o.ID))
	})
	for _, m := range ms {
		one := *m.o
		one.Lines = slices.DeleteFunc(slices.Clone(m.o.Lines), func(l order.Line) bool { return l.SKUID != m.sku })
		queueOrderStock(w, &one, m.reason, one.UpdatedAt)
	}
}

// updatePayment runs one update in a transaction of its own: the payment
// and its order locked in the batch that begins the transaction (one round
// trip), every write with the COMMIT in a second batch. A refused transfer
// aborts the transaction, so the COMMIT queued after it does not run.
func (s *Store) updatePayment(ctx context.Context, outTradeNo string, fn func(p *payment.Payment, o *order.Order) (payment.Capture, error)) (*payment.Payment, error) {
	b := &pgx.Batch{}
	l := s.queueLockPayment(b, outTradeNo)
	var saved *payment.Payment
	err := s.readThenCommit(ctx, b, func() (*pgx.Batch, error) {
		got, c, write, err := l.decide(fn)
		if err != nil {
			return nil, err
		}
		saved = got
		if !write {
			return nil, errNothingToWrite
		}
		w := &pgx.Batch{}
		return w, s.queuePaymentChange(w, got, l.o, c, nil)
	})
	return paymentOutcome(outTradeNo, saved, err)
}

// paymentOutcome is what UpdatePayment returns for an update that ended
// with saved and err.
func paymentOutcome(outTradeNo string, saved *payment.Payment, err error) (*payment.Payment, error) {
	switch {
	case err == nil || errors.Is(err, errNothingToWrite):
		return saved, nil
	case errors.Is(err, payment.ErrNotFound):
		return nil, payment.ErrNotFound
	}
	return nil, errs.Wrap(ledgerRefusal(err), "payment: update %s", outTradeNo)
}

// updatePaymentsTogether runs a group of updates of distinct payments in
// one transaction: the payments locked in out_trade_no order, then their
// orders, in the batch that begins it; every write, the stock moves last in
// SKU order, with the COMMIT in a second. An update whose fn fails has that
// outcome and writes nothing; the others go on. Any other failure fails
// the group: it is returned, and no update's outcome is set.
func (s *Store) updatePaymentsTogether(ctx context.Context, group []*paymentUpdate) error {
	slices.SortFunc(group, func(a, b *paymentUpdate) int { return strings.Compare(a.outTradeNo, b.outTradeNo) })
	b := &pgx.Batch{}
	locked := make([]*lockedPayment, len(group))
	for i, u := range group {
		locked[i] = &lockedPayment{p: &payment.Payment{}}
		s.queueLockPaymentRow(b, u.outTradeNo, locked[i])
	}
	for i, u := range group {
		s.queueLockPaymentOrder(b, u.outTradeNo, locked[i])
	}
	saved := make([]*payment.Payment, len(group))
	failed := make([]error, len(group))
	err := s.readThenCommit(ctx, b, func() (*pgx.Batch, error) {
		w := &pgx.Batch{}
		var stock []orderStockMove
		for i, l := range locked {
			got, c, write, err := l.decide(group[i].fn)
			saved[i], failed[i] = got, err
			if err != nil || !write {
				continue
			}
			// Some of its writes may be queued already: the group fails,
			// and the update fails again on its own.
			if err := s.queuePaymentChange(w, got, l.o, c, &stock); err != nil {
				return nil, err
			}
		}
		if len(w.QueuedQueries) == 0 {
			return nil, errNothingToWrite
		}
		queueOrderStockMoves(w, stock)
		return w, nil
	})
	if err != nil && !errors.Is(err, errNothingToWrite) {
		return err
	}
	for i, u := range group {
		u.saved, u.err = paymentOutcome(u.outTradeNo, saved[i], failed[i])
	}
	return nil
}

func scanPayment(row pgx.Row) (*payment.Payment, error) {
	var p payment.Payment
	if err := row.Scan(&p.ID, &p.OrderID, &p.BuyerID, &p.OutTradeNo, &p.Amount, &p.PayerOpenID, &p.PrepayID,
		&p.State, &p.TransactionID, &p.Fee, &p.PaidAt, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, err
	}
	// pgx reads timestamptz in the local zone; siyu's times are UTC.
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	if p.PaidAt != nil {
		t := p.PaidAt.UTC()
		p.PaidAt = &t
	}
	return &p, nil
}
