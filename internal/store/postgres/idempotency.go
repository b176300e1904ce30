package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/idempotency"
)

// ClaimKey inserts the record or reads the one already there. The insert
// waits for a concurrent claim of the same key to commit or roll back, so
// exactly one caller wins. The read is a second statement, and the key may
// be released between the two; then the insert is simply tried again.
func (s *Store) ClaimKey(ctx context.Context, r idempotency.Record) (*idempotency.Record, bool, error) {
	for range 5 {
		tag, err := s.pool.Exec(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, status, created_at)
			VALUES ($1, $2, $3, 0, $4) ON CONFLICT (scope, key) DO NOTHING`,
			r.Scope, r.Key, r.RequestHash, r.CreatedAt)
		if err != nil {
			return nil, false, errs.Wrap(err, "idempotency: claim")
		}
		if tag.RowsAffected() == 1 {
			return nil, true, nil
		}
		rec := idempotency.Record{Scope: r.Scope, Key: r.Key}
		err = s.pool.QueryRow(ctx, `SELECT request_hash, status, body, created_at
			FROM idempotency_keys WHERE scope = $1 AND key = $2`, r.Scope, r.Key).
			Scan(&rec.RequestHash, &rec.Status, &rec.Body, &rec.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, false, errs.Wrap(err, "idempotency: claim")
		}
		rec.CreatedAt = rec.CreatedAt.UTC()
		return &rec, false, nil
	}
	return nil, false, errs.E(errs.Unavailable, "idempotency_key_busy", "idempotency key %q is being claimed and released repeatedly; retry", r.Key)
}

// FinishKey stores the response once. A second finish is refused rather
// than applied: the first response is the one every repeat must see.
func (s *Store) FinishKey(ctx context.Context, scope, key string, status int, body []byte) error {
	tag, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET status = $3, body = $4
		WHERE scope = $1 AND key = $2 AND status = 0`, scope, key, status, body)
	if err != nil {
		return errs.Wrap(err, "idempotency: finish")
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.Conflict, "idempotency_key_not_pending", "idempotency key %q is not awaiting a response", key)
	}
	return nil
}

// ReleaseKey forgets a key only while it has no response: a finished key is
// never released, or its repeat would run the request again.
func (s *Store) ReleaseKey(ctx context.Context, scope, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status = 0`, scope, key)
	return errs.Wrap(err, "idempotency: release")
}

// PurgeKeys deletes records created before the cutoff.
func (s *Store) PurgeKeys(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, before)
	if err != nil {
		return 0, errs.Wrap(err, "idempotency: purge")
	}
	return int(tag.RowsAffected()), nil
}
