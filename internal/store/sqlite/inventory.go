package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// stockAddSQL receives goods: it creates the level on first receipt, and
// only for a SKU that exists (the SELECT finds no row for an unknown one).
// Adding never breaks reserved <= on_hand, so it needs no condition.
const stockAddSQL = `INSERT INTO stock_levels (sku_id, location, on_hand, reserved, updated_at)
	SELECT id, :loc, :delta, 0, :at FROM skus WHERE id = :sku
	ON CONFLICT (sku_id, location) DO UPDATE
		SET on_hand = on_hand + excluded.on_hand, updated_at = excluded.updated_at
	RETURNING on_hand, reserved`

// stockTakeSQL removes units in one conditional statement: the WHERE keeps
// on_hand at or above what unpaid orders hold, whatever runs concurrently.
// A level that does not exist holds nothing, so there is nothing to take.
const stockTakeSQL = `UPDATE stock_levels SET on_hand = on_hand + :delta, updated_at = :at
	WHERE sku_id = :sku AND location = :loc AND on_hand + :delta >= reserved
	RETURNING on_hand, reserved`

func (s *Store) AdjustStock(ctx context.Context, m inventory.Movement) (inventory.Level, error) {
	if m.ID == "" {
		m.ID = ids.New()
	}
	if m.At.IsZero() {
		m.At = time.Now().UTC()
	}
	lv := inventory.Level{SKUID: m.SKUID, Location: m.Location}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		q := stockAddSQL
		if m.OnHandDelta < 0 {
			q = stockTakeSQL
		}
		err := tx.QueryRowContext(ctx, q, sql.Named("sku", m.SKUID), sql.Named("loc", m.Location),
			sql.Named("delta", m.OnHandDelta), sql.Named("at", ts(m.At))).Scan(&lv.OnHand, &lv.Reserved)
		if errors.Is(err, sql.ErrNoRows) {
			return stockRefusal(ctx, tx, m.SKUID)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO stock_movements
			(id, sku_id, location, on_hand_delta, reserved_delta, reason, ref, at)
			VALUES (?, ?, ?, ?, 0, ?, ?, ?)`,
			m.ID, m.SKUID, m.Location, m.OnHandDelta, m.Reason, m.Ref, ts(m.At))
		return err
	})
	if err != nil {
		return inventory.Level{}, errs.Wrap(err, "inventory: adjust %s at %s", m.SKUID, m.Location)
	}
	return lv, nil
}

// stockRefusal says why an adjustment changed no row. It reads after the
// write was refused, only to name the reason; the decision was the write's.
func stockRefusal(ctx context.Context, tx *sql.Tx, skuID string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM skus WHERE id = ?`, skuID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return catalog.ErrSKUNotFound
	}
	return inventory.ErrBelowReserved
}

func (s *Store) Levels(ctx context.Context, skuIDs []string) ([]inventory.Level, error) {
	out := []inventory.Level{}
	if len(skuIDs) == 0 {
		return out, nil
	}
	list, err := json.Marshal(skuIDs)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT sku_id, location, on_hand, reserved FROM stock_levels
		WHERE sku_id IN (SELECT value FROM json_each(?))
		ORDER BY sku_id, location`, string(list))
	if err != nil {
		return nil, errs.Wrap(err, "inventory: levels")
	}
	defer rows.Close()
	for rows.Next() {
		var l inventory.Level
		if err := rows.Scan(&l.SKUID, &l.Location, &l.OnHand, &l.Reserved); err != nil {
			return nil, errs.Wrap(err, "inventory: levels")
		}
		out = append(out, l)
	}
	return out, errs.Wrap(rows.Err(), "inventory: levels")
}

func (s *Store) Journal(ctx context.Context, skuID string, limit int) ([]inventory.Movement, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, sku_id, location, on_hand_delta, reserved_delta, reason, ref, at
		FROM stock_movements WHERE sku_id = ?
		ORDER BY at DESC, id DESC LIMIT ?`, skuID, inventory.JournalLimit(limit))
	if err != nil {
		return nil, errs.Wrap(err, "inventory: journal")
	}
	defer rows.Close()
	out := []inventory.Movement{}
	for rows.Next() {
		var m inventory.Movement
		var at int64
		if err := rows.Scan(&m.ID, &m.SKUID, &m.Location, &m.OnHandDelta, &m.ReservedDelta, &m.Reason, &m.Ref, &at); err != nil {
			return nil, errs.Wrap(err, "inventory: journal")
		}
		m.At = fromTS(at)
		out = append(out, m)
	}
	return out, errs.Wrap(rows.Err(), "inventory: journal")
}
