package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// paymentColumns are read in the order scanPayment scans them.
const paymentColumns = `id, order_id, buyer_id, out_trade_no, amount, payer_openid, prepay_id, state,
	transaction_id, fee, paid_at, created_at, updated_at`

// CreatePayment inserts the payment and its jobs in one transaction. The
// unique order_id (and out_trade_no) make a second payment for the order
// ErrExists, however many requests race to create one.
func (s *Store) CreatePayment(ctx context.Context, p *payment.Payment, js []jobs.Job) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO payments (`+paymentColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`,
			p.ID, p.OrderID, p.BuyerID, p.OutTradeNo, p.Amount, p.PayerOpenID, p.PrepayID, p.State,
			p.TransactionID, p.Fee, tsPtr(p.PaidAt), ts(p.CreatedAt), ts(p.UpdatedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return payment.ErrExists
		}
		return insertJobs(ctx, tx, js)
	})
	if errors.Is(err, payment.ErrExists) {
		return payment.ErrExists
	}
	return errs.Wrap(err, "payment: create for order %s", p.OrderID)
}

// PaymentByOrder reads the payment of an order.
func (s *Store) PaymentByOrder(ctx context.Context, orderID string) (*payment.Payment, error) {
	if !ids.Valid(orderID) {
		return nil, payment.ErrNotFound
	}
	return s.readPayment(ctx, s.r, `order_id = ?`, orderID)
}

// PaymentByOutTradeNo reads the payment the platform knows by outTradeNo.
func (s *Store) PaymentByOutTradeNo(ctx context.Context, outTradeNo string) (*payment.Payment, error) {
	return s.readPayment(ctx, s.r, `out_trade_no = ?`, outTradeNo)
}

func (s *Store) readPayment(ctx context.Context, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, where string, arg any) (*payment.Payment, error) {
	p, err := scanPayment(db.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM payments WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.ErrNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "payment: read")
	}
	return p, nil
}

// UpdatePayment runs fn on the payment and its order inside one immediate
// transaction: the one writer connection serialises it against every other
// write, which is the pair of row locks PostgreSQL takes.
func (s *Store) UpdatePayment(ctx context.Context, outTradeNo string, fn func(p *payment.Payment, o *order.Order) (payment.Capture, error)) (*payment.Payment, error) {
	var saved *payment.Payment
	err := s.tx(ctx, func(tx *sql.Tx) error {
		p, err := s.readPayment(ctx, tx, `out_trade_no = ?`, outTradeNo)
		if err != nil {
			return err
		}
		o, err := s.loadOrder(ctx, tx, p.OrderID)
		if err != nil {
			return err
		}
		before := *p
		c, err := fn(p, o)
		if errors.Is(err, payment.ErrNoop) {
			saved = &before
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payments SET prepay_id = ?, state = ?, transaction_id = ?,
			fee = ?, paid_at = ?, updated_at = ? WHERE id = ?`,
			p.PrepayID, p.State, p.TransactionID, p.Fee, tsPtr(p.PaidAt), ts(p.UpdatedAt), p.ID); err != nil {
			return err
		}
		if c.Order != nil {
			if err := s.writeOrderChange(ctx, tx, o, *c.Order); err != nil {
				return err
			}
		}
		if len(c.Transfers) > 0 {
			if err := postTransfers(ctx, tx, c.Transfers); err != nil {
				return err
			}
		}
		if err := insertEvents(ctx, tx, c.Events); err != nil {
			return err
		}
		if err := insertJobs(ctx, tx, c.Jobs); err != nil {
			return err
		}
		saved = p
		return nil
	})
	if err != nil {
		return nil, errs.Wrap(err, "payment: update %s", outTradeNo)
	}
	return saved, nil
}

func scanPayment(row interface{ Scan(...any) error }) (*payment.Payment, error) {
	var (
		p                    payment.Payment
		paidAt               sql.NullInt64
		createdAt, updatedAt int64
	)
	if err := row.Scan(&p.ID, &p.OrderID, &p.BuyerID, &p.OutTradeNo, &p.Amount, &p.PayerOpenID, &p.PrepayID,
		&p.State, &p.TransactionID, &p.Fee, &paidAt, &createdAt, &updatedAt); err != nil {
		return nil, err
	}
	p.PaidAt, p.CreatedAt, p.UpdatedAt = fromTSPtr(paidAt), fromTS(createdAt), fromTS(updatedAt)
	return &p, nil
}
