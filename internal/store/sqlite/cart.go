package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/cart"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
)

// Both cart writes are single statements that carry their own limits: a
// new line only for a SKU that exists and only while the cart has room, and
// (for an add) only while the line stays within MaxQty. Checked in Go
// first, two requests could each see room for one more line.
const (
	cartAddSQL = `INSERT INTO cart_lines (buyer_id, sku_id, qty, seen_price, added_at)
	SELECT :buyer, id, :qty, :price, :at FROM skus
	WHERE id = :sku AND :qty BETWEEN 1 AND :max_qty
		AND ((SELECT count(*) FROM cart_lines WHERE buyer_id = :buyer) < :max_lines
			OR EXISTS (SELECT 1 FROM cart_lines WHERE buyer_id = :buyer AND sku_id = :sku))
	ON CONFLICT (buyer_id, sku_id) DO UPDATE
		SET qty = qty + excluded.qty, seen_price = excluded.seen_price
		WHERE qty + excluded.qty <= :max_qty
	RETURNING qty, seen_price, added_at`

	cartPutSQL = `INSERT INTO cart_lines (buyer_id, sku_id, qty, seen_price, added_at)
	SELECT :buyer, id, :qty, :price, :at FROM skus
	WHERE id = :sku
		AND ((SELECT count(*) FROM cart_lines WHERE buyer_id = :buyer) < :max_lines
			OR EXISTS (SELECT 1 FROM cart_lines WHERE buyer_id = :buyer AND sku_id = :sku))
	ON CONFLICT (buyer_id, sku_id) DO UPDATE
		SET qty = excluded.qty, seen_price = excluded.seen_price, added_at = excluded.added_at`
)

func (s *Store) CartLines(ctx context.Context, buyerID string) ([]cart.Line, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT sku_id, qty, seen_price, added_at FROM cart_lines
		WHERE buyer_id = ? ORDER BY added_at DESC, sku_id`, buyerID)
	if err != nil {
		return nil, errs.Wrap(err, "cart: lines")
	}
	defer rows.Close()
	out := []cart.Line{}
	for rows.Next() {
		var l cart.Line
		var price, at int64
		if err := rows.Scan(&l.SKUID, &l.Qty, &price, &at); err != nil {
			return nil, errs.Wrap(err, "cart: lines")
		}
		l.SeenPrice, l.AddedAt = money.Fen(price), fromTS(at)
		out = append(out, l)
	}
	return out, errs.Wrap(rows.Err(), "cart: lines")
}

func (s *Store) PutCartLine(ctx context.Context, buyerID string, l cart.Line) error {
	if l.Qty < 1 || l.Qty > cart.MaxQty {
		return cart.ErrQtyTooLarge
	}
	if l.AddedAt.IsZero() {
		l.AddedAt = time.Now().UTC()
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, cartPutSQL, sql.Named("buyer", buyerID), sql.Named("sku", l.SKUID),
			sql.Named("qty", l.Qty), sql.Named("price", l.SeenPrice), sql.Named("at", ts(l.AddedAt)),
			sql.Named("max_lines", cart.MaxLines))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		return cartRefusal(ctx, tx, buyerID, l.SKUID)
	})
	return errs.Wrap(err, "cart: put line")
}

func (s *Store) AddCartQty(ctx context.Context, buyerID string, l cart.Line) (cart.Line, error) {
	if l.Qty < 1 || l.Qty > cart.MaxQty {
		return cart.Line{}, cart.ErrQtyTooLarge
	}
	if l.AddedAt.IsZero() {
		l.AddedAt = time.Now().UTC()
	}
	out := cart.Line{SKUID: l.SKUID}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var price, at int64
		err := tx.QueryRowContext(ctx, cartAddSQL, sql.Named("buyer", buyerID), sql.Named("sku", l.SKUID),
			sql.Named("qty", l.Qty), sql.Named("price", l.SeenPrice), sql.Named("at", ts(l.AddedAt)),
			sql.Named("max_qty", cart.MaxQty), sql.Named("max_lines", cart.MaxLines)).Scan(&out.Qty, &price, &at)
		if errors.Is(err, sql.ErrNoRows) {
			return cartRefusal(ctx, tx, buyerID, l.SKUID)
		}
		out.SeenPrice, out.AddedAt = money.Fen(price), fromTS(at)
		return err
	})
	if err != nil {
		return cart.Line{}, errs.Wrap(err, "cart: add")
	}
	return out, nil
}

// cartRefusal names why a cart write changed nothing, reading after the
// refusal only to choose the error.
func cartRefusal(ctx context.Context, tx *sql.Tx, buyerID, skuID string) error {
	var sku, line int
	err := tx.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM skus WHERE id = :sku),
		(SELECT count(*) FROM cart_lines WHERE buyer_id = :buyer AND sku_id = :sku)`,
		sql.Named("sku", skuID), sql.Named("buyer", buyerID)).Scan(&sku, &line)
	switch {
	case err != nil:
		return err
	case sku == 0:
		return catalog.ErrSKUNotFound
	case line > 0:
		return cart.ErrQtyTooLarge
	}
	return cart.ErrCartFull
}

func (s *Store) RemoveCartLines(ctx context.Context, buyerID string, skuIDs []string) error {
	if len(skuIDs) == 0 {
		return nil
	}
	list, err := json.Marshal(skuIDs)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM cart_lines
			WHERE buyer_id = ? AND sku_id IN (SELECT value FROM json_each(?))`, buyerID, string(list))
		return err
	})
	return errs.Wrap(err, "cart: remove lines")
}
