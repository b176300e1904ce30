// Package postgres is the scale-out store engine on PostgreSQL through pgx
// v5. It implements every domain's Store interface with plain SQL; stock and
// counters change with conditional updates, jobs and outbox events are
// claimed with FOR UPDATE SKIP LOCKED, so any number of replicas can share
// one database. internal/store/storetest proves it behaves like the SQLite
// engine.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/siyu-commerce/siyu/internal/platform/seal"
	"github.com/siyu-commerce/siyu/internal/store/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the PostgreSQL engine.
type Store struct {
	pool    *pgxpool.Pool
	seal    *seal.Sealer
	updates paymentUpdates // UpdatePayment's queue (payment.go)
}

// Open connects to the database at url (postgres://...).
func Open(ctx context.Context, url string, sealer *seal.Sealer) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// siyu's queries are point reads and keyset pages whose best plan does
	// not depend on the values bound. Left on "auto", PostgreSQL keeps
	// re-planning some of them on every execution (an `id = ANY($1)` read of
	// three SKUs spent 0.4 ms planning to 0.1 ms running), which halved the
	// orders a second this machine could place. A URL that sets
	// plan_cache_mode itself keeps its own.
	if _, set := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !set {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	}
	if cfg.MaxConns < 16 {
		cfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &Store{pool: pool, seal: sealer}, nil
}

// Close closes the pool.
func (s *Store) Close() error { s.pool.Close(); return nil }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// migrateLock is the advisory lock key that serialises replicas migrating
// one database at the same time ("siyu" in ASCII).
const migrateLock = 0x73697975

// Migrate applies the embedded migrations not yet applied. Replicas starting
// together take an advisory lock, so exactly one applies each migration and
// the others wait and then find nothing to do.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	files, err := migrate.Files(migrations, "migrations")
	if err != nil {
		return 0, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLock); err != nil {
		return 0, err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLock) //nolint:errcheck
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return 0, err
	}
	applied := 0
	for _, m := range files {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			applied++
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return applied, err
		}
	}
	return applied, nil
}

// Pending reports how many migrations are not applied: /readyz wants zero.
func (s *Store) Pending(ctx context.Context) (int, error) {
	files, err := migrate.Files(migrations, "migrations")
	if err != nil {
		return 0, err
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return len(files), nil //nolint:nilerr // no table yet: nothing applied
	}
	return len(files) - n, nil
}

// tx runs fn in a transaction.
func (s *Store) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// isUnique reports whether err is a unique-constraint violation.
func isUnique(err error) bool {
	var pe interface{ SQLState() string }
	return errors.As(err, &pe) && pe.SQLState() == "23505"
}
