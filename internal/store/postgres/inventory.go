package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// stockAddSQL receives goods: it creates the level on first receipt, and
// only for a SKU that exists (the SELECT finds no row for an unknown one).
// Adding never breaks reserved <= on_hand, so it needs no condition.
const stockAddSQL = `INSERT INTO stock_levels (sku_id, location, on_hand, reserved, updated_at)
	SELECT id, $2::text, $3::bigint, 0, $4::timestamptz FROM skus WHERE id = $1
	ON CONFLICT (sku_id, location) DO UPDATE
		SET on_hand = stock_levels.on_hand + excluded.on_hand, updated_at = excluded.updated_at
	RETURNING on_hand, reserved`

// stockTakeSQL removes units in one conditional statement. Under READ
// COMMITTED a concurrent writer's row is re-checked against the WHERE once
// its lock is released, so on_hand stays at or above what unpaid orders
// hold however many operators and orders race. A level that does not exist
// holds nothing, so there is nothing to take.
const stockTakeSQL = `UPDATE stock_levels SET on_hand = on_hand + $3, updated_at = $4
	WHERE sku_id = $1 AND location = $2 AND on_hand + $3 >= reserved
	RETURNING on_hand, reserved`

func (s *Store) AdjustStock(ctx context.Context, m inventory.Movement) (inventory.Level, error) {
	if !ids.Valid(m.SKUID) {
		return inventory.Level{}, catalog.ErrSKUNotFound
	}
	if m.ID == "" {
		m.ID = ids.New()
	}
	if m.At.IsZero() {
		m.At = time.Now().UTC()
	}
	lv := inventory.Level{SKUID: m.SKUID, Location: m.Location}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		q := stockAddSQL
		if m.OnHandDelta < 0 {
			q = stockTakeSQL
		}
		err := tx.QueryRow(ctx, q, m.SKUID, m.Location, m.OnHandDelta, m.At).Scan(&lv.OnHand, &lv.Reserved)
		if errors.Is(err, pgx.ErrNoRows) {
			return stockRefusal(ctx, tx, m.SKUID)
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO stock_movements
			(id, sku_id, location, on_hand_delta, reserved_delta, reason, ref, at)
			VALUES ($1, $2, $3, $4, 0, $5, $6, $7)`,
			m.ID, m.SKUID, m.Location, m.OnHandDelta, m.Reason, m.Ref, m.At)
		return err
	})
	if err != nil {
		return inventory.Level{}, errs.Wrap(err, "inventory: adjust %s at %s", m.SKUID, m.Location)
	}
	return lv, nil
}

// stockRefusal says why an adjustment changed no row. It reads after the
// write was refused, only to name the reason; the decision was the write's.
func stockRefusal(ctx context.Context, tx pgx.Tx, skuID string) error {
	var found bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM skus WHERE id = $1)`, skuID).Scan(&found); err != nil {
		return err
	}
	if !found {
		return catalog.ErrSKUNotFound
	}
	return inventory.ErrBelowReserved
}

func (s *Store) Levels(ctx context.Context, skuIDs []string) ([]inventory.Level, error) {
	valid := validIDs(skuIDs)
	if len(valid) == 0 {
		return []inventory.Level{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT sku_id, location, on_hand, reserved FROM stock_levels
		WHERE sku_id = ANY($1)
		ORDER BY sku_id, location`, valid)
	if err != nil {
		return nil, errs.Wrap(err, "inventory: levels")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (inventory.Level, error) {
		var l inventory.Level
		err := row.Scan(&l.SKUID, &l.Location, &l.OnHand, &l.Reserved)
		return l, err
	})
	if out == nil {
		out = []inventory.Level{}
	}
	return out, errs.Wrap(err, "inventory: levels")
}

func (s *Store) Journal(ctx context.Context, skuID string, limit int) ([]inventory.Movement, error) {
	if !ids.Valid(skuID) {
		return []inventory.Movement{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, sku_id, location, on_hand_delta, reserved_delta, reason, ref, at
		FROM stock_movements WHERE sku_id = $1
		ORDER BY at DESC, id DESC LIMIT $2`, skuID, inventory.JournalLimit(limit))
	if err != nil {
		return nil, errs.Wrap(err, "inventory: journal")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (inventory.Movement, error) {
		var m inventory.Movement
		var reason string
		err := row.Scan(&m.ID, &m.SKUID, &m.Location, &m.OnHandDelta, &m.ReservedDelta, &reason, &m.Ref, &m.At)
		m.Reason, m.At = inventory.Reason(reason), m.At.UTC()
		return m, err
	})
	if out == nil {
		out = []inventory.Movement{}
	}
	return out, errs.Wrap(err, "inventory: journal")
}
