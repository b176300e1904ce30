package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/cart"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Both cart writes are single statements that carry their own limits: a
// new line only for a SKU that exists and only while the cart has room, and
// (for an add) only while the line stays within MaxQty. The line limit is
// safe under ON CONFLICT's row lock alone; the cart's limit counts rows,
// which two READ COMMITTED transactions could each count before either
// inserts, so each cart write first takes a transaction-scoped advisory lock
// on the buyer's cart.
const (
	cartAddSQL = `INSERT INTO cart_lines (buyer_id, sku_id, qty, seen_price, added_at)
	SELECT $1::uuid, id, $3::integer, $4::bigint, $5::timestamptz FROM skus
	WHERE id = $2 AND $3::integer BETWEEN 1 AND $6::integer
		AND ((SELECT count(*) FROM cart_lines WHERE buyer_id = $1) < $7
			OR EXISTS (SELECT 1 FROM cart_lines WHERE buyer_id = $1 AND sku_id = $2))
	ON CONFLICT (buyer_id, sku_id) DO UPDATE
		SET qty = cart_lines.qty + excluded.qty, seen_price = excluded.seen_price
		WHERE cart_lines.qty + excluded.qty <= $6::integer
	RETURNING qty, seen_price, added_at`

	cartPutSQL = `INSERT INTO cart_lines (buyer_id, sku_id, qty, seen_price, added_at)
	SELECT $1::uuid, id, $3::integer, $4::bigint, $5::timestamptz FROM skus
	WHERE id = $2
		AND ((SELECT count(*) FROM cart_lines WHERE buyer_id = $1) < $6
			OR EXISTS (SELECT 1 FROM cart_lines WHERE buyer_id = $1 AND sku_id = $2))
	ON CONFLICT (buyer_id, sku_id) DO UPDATE
		SET qty = excluded.qty, seen_price = excluded.seen_price, added_at = excluded.added_at`
)

// cartLockClass is the first key of the carts' advisory locks ("cart" in
// ASCII); the second is a hash of the buyer id. A hash collision only makes
// two buyers' cart writes wait for each other.
const cartLockClass = 0x63617274

func lockCart(ctx context.Context, tx pgx.Tx, buyerID string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, int32(cartLockClass), buyerID)
	return err
}

func (s *Store) CartLines(ctx context.Context, buyerID string) ([]cart.Line, error) {
	if !ids.Valid(buyerID) {
		return []cart.Line{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT sku_id, qty, seen_price, added_at FROM cart_lines
		WHERE buyer_id = $1 ORDER BY added_at DESC, sku_id`, buyerID)
	if err != nil {
		return nil, errs.Wrap(err, "cart: lines")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (cart.Line, error) {
		var l cart.Line
		var price int64
		err := row.Scan(&l.SKUID, &l.Qty, &price, &l.AddedAt)
		l.SeenPrice, l.AddedAt = money.Fen(price), l.AddedAt.UTC()
		return l, err
	})
	if out == nil {
		out = []cart.Line{}
	}
	return out, errs.Wrap(err, "cart: lines")
}

func (s *Store) PutCartLine(ctx context.Context, buyerID string, l cart.Line) error {
	if l.Qty < 1 || l.Qty > cart.MaxQty {
		return cart.ErrQtyTooLarge
	}
	if !ids.Valid(l.SKUID) {
		return catalog.ErrSKUNotFound
	}
	if l.AddedAt.IsZero() {
		l.AddedAt = time.Now().UTC()
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := lockCart(ctx, tx, buyerID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, cartPutSQL, buyerID, l.SKUID, l.Qty, l.SeenPrice, l.AddedAt, cart.MaxLines)
		if err != nil || tag.RowsAffected() > 0 {
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
	if !ids.Valid(l.SKUID) {
		return cart.Line{}, catalog.ErrSKUNotFound
	}
	if l.AddedAt.IsZero() {
		l.AddedAt = time.Now().UTC()
	}
	out := cart.Line{SKUID: l.SKUID}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := lockCart(ctx, tx, buyerID); err != nil {
			return err
		}
		var price int64
		err := tx.QueryRow(ctx, cartAddSQL, buyerID, l.SKUID, l.Qty, l.SeenPrice, l.AddedAt, cart.MaxQty, cart.MaxLines).
			Scan(&out.Qty, &price, &out.AddedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return cartRefusal(ctx, tx, buyerID, l.SKUID)
		}
		out.SeenPrice, out.AddedAt = money.Fen(price), out.AddedAt.UTC()
		return err
	})
	if err != nil {
		return cart.Line{}, errs.Wrap(err, "cart: add")
	}
	return out, nil
}

// cartRefusal names why a cart write changed nothing, reading after the
// refusal only to choose the error.
func cartRefusal(ctx context.Context, tx pgx.Tx, buyerID, skuID string) error {
	var sku, line bool
	err := tx.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM skus WHERE id = $1),
		EXISTS (SELECT 1 FROM cart_lines WHERE buyer_id = $2 AND sku_id = $1)`, skuID, buyerID).Scan(&sku, &line)
	switch {
	case err != nil:
		return err
	case !sku:
		return catalog.ErrSKUNotFound
	case line:
		return cart.ErrQtyTooLarge
	}
	return cart.ErrCartFull
}

func (s *Store) RemoveCartLines(ctx context.Context, buyerID string, skuIDs []string) error {
	valid := validIDs(skuIDs)
	if len(valid) == 0 || !ids.Valid(buyerID) {
		return nil
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM cart_lines WHERE buyer_id = $1 AND sku_id = ANY($2)`, buyerID, valid)
	return errs.Wrap(err, "cart: remove lines")
}
