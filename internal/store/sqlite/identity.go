package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// sqliteConstraintUnique is SQLITE_CONSTRAINT_UNIQUE, the extended code of a
// UNIQUE index violation (a primary key one has its own code).
const sqliteConstraintUnique = 2067

// UpsertBuyer is one statement, so two first logins of one buyer racing each
// other meet at the openid's unique index and both get the same row.
func (s *Store) UpsertBuyer(ctx context.Context, openID, unionID, sessionKey string, now time.Time) (*identity.Buyer, error) {
	b := identity.Buyer{OpenID: openID}
	var created, last int64
	err := s.w.QueryRowContext(ctx, `INSERT INTO buyers (id, openid, unionid, session_key, created_at, last_login_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (openid) DO UPDATE SET
			unionid = CASE WHEN excluded.unionid <> '' THEN excluded.unionid ELSE buyers.unionid END,
			session_key = excluded.session_key,
			last_login_at = excluded.last_login_at
		RETURNING id, unionid, created_at, last_login_at`,
		ids.New(), openID, unionID, s.seal.Seal(sessionKey), ts(now), ts(now)).Scan(&b.ID, &b.UnionID, &created, &last)
	if err != nil {
		return nil, errs.Wrap(err, "identity: upsert buyer")
	}
	b.CreatedAt, b.LastLoginAt = fromTS(created), fromTS(last)
	return &b, nil
}

func (s *Store) Buyer(ctx context.Context, id string) (*identity.Buyer, error) {
	b := identity.Buyer{ID: id}
	var created, last int64
	err := s.r.QueryRowContext(ctx, `SELECT openid, unionid, created_at, last_login_at FROM buyers WHERE id = ?`, id).
		Scan(&b.OpenID, &b.UnionID, &created, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrBuyerNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "identity: buyer")
	}
	b.CreatedAt, b.LastLoginAt = fromTS(created), fromTS(last)
	return &b, nil
}

func (s *Store) CreateSession(ctx context.Context, sess *identity.Session) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO sessions (id, token_hash, kind, subject_id, role, created_at, expires_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		sess.ID, sess.TokenHash, string(sess.Kind), sess.SubjectID, string(sess.Role),
		ts(sess.CreatedAt), ts(sess.ExpiresAt), tsPtr(sess.RevokedAt))
	return errs.Wrap(err, "identity: create session")
}

func (s *Store) SessionByHash(ctx context.Context, hash string) (*identity.Session, error) {
	var (
		sess             identity.Session
		kind, role       string
		created, expires int64
		revoked          sql.NullInt64
	)
	err := s.r.QueryRowContext(ctx, `SELECT id, token_hash, kind, subject_id, role, created_at, expires_at, revoked_at
		FROM sessions WHERE token_hash = ?`, hash).
		Scan(&sess.ID, &sess.TokenHash, &kind, &sess.SubjectID, &role, &created, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrUnauthenticated
	}
	if err != nil {
		return nil, errs.Wrap(err, "identity: session by hash")
	}
	sess.Kind, sess.Role = identity.PrincipalKind(kind), identity.Role(role)
	sess.CreatedAt, sess.ExpiresAt, sess.RevokedAt = fromTS(created), fromTS(expires), fromTSPtr(revoked)
	return &sess, nil
}

func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ts(at), id)
	return errs.Wrap(err, "identity: revoke session")
}

func (s *Store) PurgeSessions(ctx context.Context, before time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, ts(before))
	if err != nil {
		return 0, errs.Wrap(err, "identity: purge sessions")
	}
	n, err := res.RowsAffected()
	return int(n), errs.Wrap(err, "identity: purge sessions")
}

func (s *Store) CreateOperator(ctx context.Context, o *identity.OperatorAccount) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO operators (id, email, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)`,
		o.ID, o.Email, o.PasswordHash, string(o.Role), ts(o.CreatedAt))
	var se interface{ Code() int }
	if errors.As(err, &se) && se.Code() == sqliteConstraintUnique {
		return identity.ErrEmailTaken
	}
	return errs.Wrap(err, "identity: create operator")
}

func (s *Store) OperatorByEmail(ctx context.Context, email string) (*identity.OperatorAccount, error) {
	return s.operatorWhere(ctx, `email = ?`, email)
}

func (s *Store) Operator(ctx context.Context, id string) (*identity.OperatorAccount, error) {
	return s.operatorWhere(ctx, `id = ?`, id)
}

func (s *Store) operatorWhere(ctx context.Context, cond string, arg string) (*identity.OperatorAccount, error) {
	var (
		o       identity.OperatorAccount
		role    string
		created int64
	)
	err := s.r.QueryRowContext(ctx, `SELECT id, email, password_hash, role, created_at FROM operators WHERE `+cond, arg).
		Scan(&o.ID, &o.Email, &o.PasswordHash, &role, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrOperatorNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "identity: operator")
	}
	o.Role, o.CreatedAt = identity.Role(role), fromTS(created)
	return &o, nil
}

// The one writer connection serialises address writes, so counting a
// buyer's addresses and inserting one cannot interleave with another write.
func (s *Store) CreateAddress(ctx context.Context, a *identity.Address, limit int) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var known, n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM buyers WHERE id = ?`, a.BuyerID).Scan(&known); err != nil {
			return err
		}
		if known == 0 {
			return identity.ErrBuyerNotFound
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM addresses WHERE buyer_id = ?`, a.BuyerID).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return identity.ErrAddressLimit
		}
		if n == 0 {
			a.IsDefault = true
		}
		if a.IsDefault {
			if _, err := tx.ExecContext(ctx, `UPDATE addresses SET is_default = 0 WHERE buyer_id = ? AND is_default = 1`, a.BuyerID); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO addresses
			(id, buyer_id, name, phone, province, city, district, detail, is_default, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.BuyerID, a.Name, s.seal.Seal(a.Phone), a.Province, a.City, a.District, s.seal.Seal(a.Detail),
			a.IsDefault, ts(a.CreatedAt), ts(a.UpdatedAt))
		return err
	})
	return identityErr(err, "identity: create address")
}

const addressCols = `id, buyer_id, name, phone, province, city, district, detail, is_default, created_at, updated_at`

func (s *Store) Addresses(ctx context.Context, buyerID string) ([]identity.Address, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+addressCols+` FROM addresses WHERE buyer_id = ?
		ORDER BY is_default DESC, created_at DESC, id DESC`, buyerID)
	if err != nil {
		return nil, errs.Wrap(err, "identity: addresses")
	}
	defer rows.Close()
	out := []identity.Address{}
	for rows.Next() {
		a, err := s.scanAddress(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, errs.Wrap(rows.Err(), "identity: addresses")
}

func (s *Store) Address(ctx context.Context, buyerID, id string) (*identity.Address, error) {
	if !ids.Valid(id) {
		return nil, identity.ErrAddressNotFound
	}
	a, err := s.scanAddress(s.r.QueryRowContext(ctx, `SELECT `+addressCols+` FROM addresses WHERE id = ? AND buyer_id = ?`, id, buyerID))
	return a, identityErr(err, "identity: address")
}

func (s *Store) UpdateAddress(ctx context.Context, buyerID, id string, fn func(*identity.Address) error) (*identity.Address, error) {
	if !ids.Valid(id) {
		return nil, identity.ErrAddressNotFound
	}
	var out *identity.Address
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a, err := s.scanAddress(tx.QueryRowContext(ctx, `SELECT `+addressCols+` FROM addresses WHERE id = ? AND buyer_id = ?`, id, buyerID))
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
		a.ID, a.BuyerID = id, buyerID // fn edits the address, not whose it is
		if a.IsDefault {
			if _, err := tx.ExecContext(ctx, `UPDATE addresses SET is_default = 0 WHERE buyer_id = ? AND is_default = 1 AND id <> ?`, buyerID, id); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE addresses SET name = ?, phone = ?, province = ?, city = ?, district = ?, detail = ?,
			is_default = ?, updated_at = ? WHERE id = ?`,
			a.Name, s.seal.Seal(a.Phone), a.Province, a.City, a.District, s.seal.Seal(a.Detail), a.IsDefault, ts(a.UpdatedAt), id)
		out = a
		return err
	})
	if err != nil {
		return nil, identityErr(err, "identity: update address")
	}
	return out, nil
}

func (s *Store) DeleteAddress(ctx context.Context, buyerID, id string) error {
	if !ids.Valid(id) {
		return identity.ErrAddressNotFound
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM addresses WHERE id = ? AND buyer_id = ?`, id, buyerID)
	if err != nil {
		return errs.Wrap(err, "identity: delete address")
	}
	if n, err := res.RowsAffected(); err != nil {
		return errs.Wrap(err, "identity: delete address")
	} else if n == 0 {
		return identity.ErrAddressNotFound
	}
	return nil
}

// scanAddress reads one address row and opens its sealed fields; no row is
// ErrAddressNotFound.
func (s *Store) scanAddress(row interface{ Scan(...any) error }) (*identity.Address, error) {
	var (
		a                identity.Address
		phone, detail    string
		created, updated int64
	)
	err := row.Scan(&a.ID, &a.BuyerID, &a.Name, &phone, &a.Province, &a.City, &a.District, &detail,
		&a.IsDefault, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrAddressNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "identity: scan address")
	}
	if a.Phone, err = s.seal.Open(phone); err != nil {
		return nil, errs.Wrap(err, "identity: open address %s phone", a.ID)
	}
	if a.Detail, err = s.seal.Open(detail); err != nil {
		return nil, errs.Wrap(err, "identity: open address %s detail", a.ID)
	}
	a.CreatedAt, a.UpdatedAt = fromTS(created), fromTS(updated)
	return &a, nil
}

// identityErr passes the domain's own errors through as they are and wraps
// anything else as internal.
func identityErr(err error, what string) error {
	if err == nil || errs.KindOf(err) != errs.Internal {
		return err
	}
	return errs.Wrap(err, "%s", what)
}
