package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/siyu-commerce/siyu/internal/errs"
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

// UpdatePayment locks the payment and then its order (FOR UPDATE, in that
// order, in the batch that begins the transaction: one round trip), lets fn
// decide, and sends every write with the COMMIT in a second batch. The
// rows every capture shares come last: the order's stock (one row for all
// the buyers of a best seller), then the ledger lock and the transfers
// (siyu_post_transfers, migration 0007), so they are held only while the
// server finishes the batch and commits, never across a round trip; posted
// from Go, the transfers took two more round trips with the accounts held.
// A refused transfer aborts the transaction, so the COMMIT queued after it
// does not run. A concurrent update of the same payment waits on its row
// lock and then reads what this one committed.
func (s *Store) UpdatePayment(ctx context.Context, outTradeNo string, fn func(p *payment.Payment, o *order.Order) (payment.Capture, error)) (*payment.Payment, error) {
	b := &pgx.Batch{}
	p, found := &payment.Payment{}, false
	b.Queue(`SELECT `+paymentColumns+` FROM payments WHERE out_trade_no = $1 FOR UPDATE`, outTradeNo).QueryRow(func(row pgx.Row) error {
		got, err := scanPayment(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		*p, found = *got, true
		return nil
	})
	// The order id is the payment's, read by the same statement that locks
	// the order: the payment row is locked already, and its order never changes.
	o, orderFound := s.queueLoadOrderBy(b, `(SELECT order_id FROM payments WHERE out_trade_no = $1)`, outTradeNo, "FOR UPDATE")
	var saved *payment.Payment
	err := s.readThenCommit(ctx, b, func() (*pgx.Batch, error) {
		if !found {
			return nil, payment.ErrNotFound
		}
		if !*orderFound {
			return nil, fmt.Errorf("payment %s: its order %s is missing", p.ID, p.OrderID)
		}
		before := *p
		c, err := fn(p, o)
		if errors.Is(err, payment.ErrNoop) {
			saved = &before
			return nil, errNothingToWrite
		}
		if err != nil {
			return nil, err
		}
		transfers, err := distinctTransfers(c.Transfers)
		if err != nil {
			return nil, err
		}
		w := &pgx.Batch{}
		w.Queue(`UPDATE payments SET prepay_id = $1, state = $2, transaction_id = $3, fee = $4,
			paid_at = $5, updated_at = $6 WHERE id = $7`,
			p.PrepayID, p.State, p.TransactionID, p.Fee, p.PaidAt, p.UpdatedAt, p.ID)
		queueEvents(w, c.Events)
		queueJobs(w, c.Jobs)
		if c.Order != nil {
			if err := s.queueOrderChange(w, o, *c.Order); err != nil {
				return nil, err
			}
		}
		if len(transfers) > 0 {
			queuePostTransfers(w, transfers)
		}
		saved = p
		return w, nil
	})
	if errors.Is(err, errNothingToWrite) {
		err = nil
	}
	if errors.Is(err, payment.ErrNotFound) {
		return nil, payment.ErrNotFound
	}
	if err != nil {
		return nil, errs.Wrap(ledgerRefusal(err), "payment: update %s", outTradeNo)
	}
	return saved, nil
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
