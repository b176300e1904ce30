package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/idempotency"
)

// ClaimKey inserts the record, or reads the one already there, in one
// transaction on the writer, so a release in between cannot make the key
// look both taken and missing.
func (s *Store) ClaimKey(ctx context.Context, r idempotency.Record) (*idempotency.Record, bool, error) {
	var (
		existing *idempotency.Record
		claimed  bool
	)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, status, created_at)
			VALUES (?, ?, ?, 0, ?) ON CONFLICT (scope, key) DO NOTHING`,
			r.Scope, r.Key, r.RequestHash, ts(r.CreatedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			claimed = n == 1
			return err
		}
		var (
			rec     = idempotency.Record{Scope: r.Scope, Key: r.Key}
			created int64
		)
		if err := tx.QueryRowContext(ctx, `SELECT request_hash, status, body, created_at
			FROM idempotency_keys WHERE scope = ? AND key = ?`, r.Scope, r.Key).
			Scan(&rec.RequestHash, &rec.Status, &rec.Body, &created); err != nil {
			return err
		}
		rec.CreatedAt = fromTS(created)
		existing = &rec
		return nil
	})
	if err != nil {
		return nil, false, errs.Wrap(err, "idempotency: claim")
	}
	return existing, claimed, nil
}

// FinishKey stores the response once. A second finish is refused rather
// than applied: the first response is the one every repeat must see.
func (s *Store) FinishKey(ctx context.Context, scope, key string, status int, body []byte) error {
	res, err := s.w.ExecContext(ctx, `UPDATE idempotency_keys SET status = ?, body = ?
		WHERE scope = ? AND key = ? AND status = 0`, status, body, scope, key)
	if err != nil {
		return errs.Wrap(err, "idempotency: finish")
	}
	if n, err := res.RowsAffected(); err != nil {
		return errs.Wrap(err, "idempotency: finish")
	} else if n == 0 {
		return errs.E(errs.Conflict, "idempotency_key_not_pending", "idempotency key %q is not awaiting a response", key)
	}
	return nil
}

// ReleaseKey forgets a key only while it has no response: a finished key is
// never released, or its repeat would run the request again.
func (s *Store) ReleaseKey(ctx context.Context, scope, key string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND status = 0`, scope, key)
	return errs.Wrap(err, "idempotency: release")
}

// PurgeKeys deletes records created before the cutoff.
func (s *Store) PurgeKeys(ctx context.Context, before time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, ts(before))
	if err != nil {
		return 0, errs.Wrap(err, "idempotency: purge")
	}
	n, err := res.RowsAffected()
	return int(n), errs.Wrap(err, "idempotency: purge")
}
