package flashsale_test

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/siyu-commerce/siyu/internal/flashsale"
)

// The two designs the benchmark holds the Reservers against: deciding in
// PostgreSQL itself, on a table created in the benchmark's own database. They
// are correct (neither oversells); they are slow because every buyer of a hot
// SKU queues on its one row lock.

const pgSchema = `
CREATE TABLE bench_flash_stock (
	session_id text NOT NULL,
	sku_id     text NOT NULL,
	left_units int  NOT NULL CHECK (left_units >= 0),
	per_buyer  int  NOT NULL,
	PRIMARY KEY (session_id, sku_id)
);
CREATE TABLE bench_flash_win (
	session_id text NOT NULL,
	sku_id     text NOT NULL,
	buyer_id   text NOT NULL,
	qty        int  NOT NULL,
	won_at     timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (session_id, sku_id, buyer_id)
)`

// pgForUpdate is the naive design: lock the stock row, read, check in the
// application, write. The hot row stays locked for four round trips.
func pgForUpdate(ctx context.Context, db *pgxpool.Pool, session, sku, buyer string, qty int) (flashsale.Outcome, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	var left, limit int
	err = tx.QueryRow(ctx, `SELECT left_units, per_buyer FROM bench_flash_stock
		WHERE session_id = $1 AND sku_id = $2 FOR UPDATE`, session, sku).Scan(&left, &limit)
	if err != nil {
		return 0, err
	}
	if left < qty {
		return flashsale.SoldOut, nil
	}
	var held int
	err = tx.QueryRow(ctx, `SELECT qty FROM bench_flash_win
		WHERE session_id = $1 AND sku_id = $2 AND buyer_id = $3`, session, sku, buyer).Scan(&held)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, err
	}
	if held+qty > limit {
		return flashsale.LimitReached, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE bench_flash_stock SET left_units = left_units - $3
		WHERE session_id = $1 AND sku_id = $2`, session, sku, qty); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO bench_flash_win (session_id, sku_id, buyer_id, qty)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (session_id, sku_id, buyer_id) DO UPDATE SET qty = bench_flash_win.qty + EXCLUDED.qty`,
		session, sku, buyer, qty); err != nil {
		return 0, err
	}
	return flashsale.Won, tx.Commit(ctx)
}

// pgAtomic is the conditional-update design: the buyer's row first (no hot
// lock; the limit is a condition of the upsert), then one conditional update
// of the stock, then commit. The hot row stays locked for two round trips
// (the update's answer and the commit).
func pgAtomic(ctx context.Context, db *pgxpool.Pool, session, sku, buyer string, qty, limit int) (flashsale.Outcome, error) {
	if qty > limit { // a first insert meets no WHERE
		return flashsale.LimitReached, nil
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	tag, err := tx.Exec(ctx, `INSERT INTO bench_flash_win (session_id, sku_id, buyer_id, qty)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (session_id, sku_id, buyer_id) DO UPDATE SET qty = bench_flash_win.qty + EXCLUDED.qty
		WHERE bench_flash_win.qty + EXCLUDED.qty <= $5`, session, sku, buyer, qty, limit)
	if err != nil {
		return 0, err
	}
	if tag.RowsAffected() == 0 {
		return flashsale.LimitReached, nil
	}
	tag, err = tx.Exec(ctx, `UPDATE bench_flash_stock SET left_units = left_units - $3
		WHERE session_id = $1 AND sku_id = $2 AND left_units >= $3`, session, sku, qty)
	if err != nil {
		return 0, err
	}
	if tag.RowsAffected() == 0 {
		return flashsale.SoldOut, nil
	}
	return flashsale.Won, tx.Commit(ctx)
}
