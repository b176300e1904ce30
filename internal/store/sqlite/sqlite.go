// Package sqlite is the embedded store engine: pure Go (modernc.org/sqlite,
// no cgo), WAL, a busy timeout, one writer connection with immediate
// transactions, and a pool of readers. It implements every domain's Store
// interface with plain SQL; internal/store/storetest proves it behaves like
// the PostgreSQL engine.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/siyu-commerce/siyu/internal/platform/seal"
	"github.com/siyu-commerce/siyu/internal/store/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite engine.
type Store struct {
	w    *sql.DB // the one writer connection
	r    *sql.DB // readers
	seal *seal.Sealer
}

// Open opens (creating if needed) the database file at path. Migrations are
// applied by Migrate, not here.
func Open(path string, sealer *seal.Sealer) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	// The path goes into a file: URI, where '?' and '#' would end it (a
	// test's temporary directory is named after the test, which may hold
	// either): escape them, and '%' itself.
	dsn := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path) + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	// One writer: SQLite has one anyway, and queuing in Go is cheaper and
	// fairer than spinning on SQLITE_BUSY.
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	s := &Store{w: w, r: r, seal: sealer}
	if err := w.Ping(); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return errors.Join(s.r.Close(), s.w.Close()) }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.r.PingContext(ctx) }

// Migrate applies the embedded migrations not yet applied, each in its own
// transaction. The single writer connection and immediate transactions keep
// two processes on one file from applying the same one twice.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return 0, err
	}
	files, err := migrate.Files(migrations, "migrations")
	if err != nil {
		return 0, err
	}
	applied := 0
	for _, m := range files {
		done, err := s.apply(ctx, m)
		if err != nil {
			return applied, err
		}
		if done {
			applied++
		}
	}
	return applied, nil
}

// rebuildsTables marks a migration that rebuilds a table another table
// references (SQLite cannot change a constraint in place). It runs with
// foreign keys off, as SQLite's documented procedure for such a change
// requires (a DROP TABLE of a referenced table would otherwise count its
// rows as violations, even once a rebuilt table of the same name has them
// back), and with every foreign key checked before it commits.
const rebuildsTables = "-- siyu:rebuilds-tables"

// apply applies one migration unless it is applied already.
func (s *Store) apply(ctx context.Context, m migrate.Migration) (bool, error) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	rebuild := strings.Contains(m.SQL, rebuildsTables)
	if rebuild {
		if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			return false, err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`) //nolint:errcheck // a failure leaves the connection broken; the pool's next ping finds it
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() //nolint:errcheck // after a commit, a no-op
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if rebuild {
		var table string
		err := tx.QueryRowContext(ctx, `SELECT "table" FROM pragma_foreign_key_check`).Scan(&table)
		if err == nil {
			return false, fmt.Errorf("migration %s: leaves rows of %s with a broken foreign key", m.Name, table)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UnixMicro()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// Pending reports how many migrations are not applied: /readyz wants zero.
func (s *Store) Pending(ctx context.Context) (int, error) {
	files, err := migrate.Files(migrations, "migrations")
	if err != nil {
		return 0, err
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return len(files), nil //nolint:nilerr // no table yet: nothing applied
	}
	return len(files) - n, nil
}

// tx runs fn in an immediate transaction on the writer.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Times are stored as INTEGER microseconds since the epoch, UTC.
func ts(t time.Time) int64 { return t.UnixMicro() }

func fromTS(v int64) time.Time { return time.UnixMicro(v).UTC() }

func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func fromTSPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromTS(v.Int64)
	return &t
}
