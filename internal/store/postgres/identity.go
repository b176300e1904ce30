package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// UpsertBuyer is one statement, so two first logins of one buyer racing each
// other meet at the openid's unique index and both get the same row.
func (s *Store) UpsertBuyer(ctx context.Context, openID, unionID, sessionKey string, now time.Time) (*identity.Buyer, error) {
	b := identity.Buyer{OpenID: openID}
	err := s.pool.QueryRow(ctx, `INSERT INTO buyers (id, openid, unionid, session_key, created_at, last_login_at)
		VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (openid) DO UPDATE SET
			unionid = CASE WHEN excluded.unionid <> '' THEN excluded.unionid ELSE buyers.unionid END,
			session_key = excluded.session_key,
			last_login_at = excluded.last_login_at
		RETURNING id, unionid, created_at, last_login_at`,
		ids.New(), openID, unionID, s.seal.Seal(sessionKey), now).Scan(&b.ID, &b.UnionID, &b.CreatedAt, &b.LastLoginAt)
	if err != nil {
		return nil, errs.Wrap(err, "identity: upsert buyer")
	}
	b.CreatedAt, b.LastLoginAt = b.CreatedAt.UTC(), b.LastLoginAt.UTC()
	return &b, nil
}

func (s *Store) Buyer(ctx context.Context, id string) (*identity.Buyer, error) {
	if !ids.Valid(id) {
		return nil, identity.ErrBuyerNotFound
	}
	b := identity.Buyer{ID: id}
	err := s.pool.QueryRow(ctx, `SELECT openid, unionid, created_at, last_login_at FROM buyers WHERE id = $1`, id).
		Scan(&b.OpenID, &b.UnionID, &b.CreatedAt, &b.LastLoginAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, identity.ErrBuyerNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "identity: buyer")
	}
	b.CreatedAt, b.LastLoginAt = b.CreatedAt.UTC(), b.LastLoginAt.UTC()
	return &b, nil
}

func (s *Store) CreateSession(ctx context.Context, sess *identity.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (id, token_hash, kind, subject_id, role, created_at, expires_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		sess.ID, sess.TokenHash, string(sess.Kind), sess.SubjectID, string(sess.Role),
		sess.CreatedAt, sess.ExpiresAt, sess.RevokedAt)
	return errs.Wrap(err, "identity: create session")
}

func (s *Store) SessionByHash(ctx context.Context, hash string) (*identity.Session, error) {
	var (
		sess       identity.Session
		kind, role string
	)
	err := s.pool.QueryRow(ctx, `SELECT id, token_hash, kind, subject_id, role, created_at, expires_at, revoked_at
		FROM sessions WHERE token_hash = $1`, hash).
		Scan(&sess.ID, &sess.TokenHash, &kind, &sess.SubjectID, &role, &sess.CreatedAt, &sess.ExpiresAt, &sess.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, identity.ErrUnauthenticated
	}
	if err != nil {
		return nil, errs.Wrap(err, "identity: session by hash")
	}
	sess.Kind, sess.Role = identity.PrincipalKind(kind), identity.Role(role)
	sess.CreatedAt, sess.ExpiresAt = sess.CreatedAt.UTC(), sess.ExpiresAt.UTC()
	if sess.RevokedAt != nil {
		t := sess.RevokedAt.UTC()
		sess.RevokedAt = &t
	}
	return &sess, nil
}

func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	if !ids.Valid(id) {
		return nil
	}
	_, err := s.pool.Exec(ctx, `UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, at, id)
	return errs.Wrap(err, "identity: revoke session")
}

func (s *Store) PurgeSessions(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at < $1`, before)
	if err != nil {
		return 0, errs.Wrap(err, "identity: purge sessions")
	}
	return int(tag.RowsAffected()), nil
}

func (s *Store) CreateOperator(ctx context.Context, o *identity.OperatorAccount) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO operators (id, email, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5)`,
		o.ID, o.Email, o.PasswordHash, string(o.Role), o.CreatedAt)
	if isUnique(err) {
		return identity.ErrEmailTaken
	}
	return errs.Wrap(err, "identity: create operator")
}

func (s *Store) OperatorByEmail(ctx context.Context, email string) (*identity.OperatorAccount, error) {
	return s.operatorWhere(ctx, `email = $1`, email)
}

func (s *Store) Operator(ctx context.Context, id string) (*identity.OperatorAccount, error) {
	if !ids.Valid(id) {
		return nil, identity.ErrOperatorNotFound
	}
	return s.operatorWhere(ctx, `id = $1`, id)
}

func (s *Store) operatorWhere(ctx context.Context, cond string, arg string) (*identity.OperatorAccount, error) {
	var (
		o    identity.OperatorAccount
		role string
	)
	err := s.pool.QueryRow(ctx, `SELECT id, email, password_hash, role, created_at FROM operators WHERE `+cond, arg).
		Scan(&o.ID, &o.Email, &o.PasswordHash, &role, &o.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, identity.ErrOperatorNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "identity: operator")
	}
	o.Role, o.CreatedAt = identity.Role(role), o.CreatedAt.UTC()
	return &o, nil
}

// lockBuyer serialises one buyer's address writes: under READ COMMITTED,
// counting addresses and then inserting, or clearing the old default and
// setting a new one, would otherwise interleave with a concurrent request.
func lockBuyer(ctx context.Context, tx pgx.Tx, buyerID string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM buyers WHERE id = $1 FOR UPDATE`, buyerID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return identity.ErrBuyerNotFound
	}
	return err
}

func (s *Store) CreateAddress(ctx context.Context, a *identity.Address, limit int) error {
	if !ids.Valid(a.BuyerID) {
		return identity.ErrBuyerNotFound
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := lockBuyer(ctx, tx, a.BuyerID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM addresses WHERE buyer_id = $1`, a.BuyerID).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return identity.ErrAddressLimit
		}
		if n == 0 {
			a.IsDefault = true
		}
		if a.IsDefault {
			if _, err := tx.Exec(ctx, `UPDATE addresses SET is_default = false WHERE buyer_id = $1 AND is_default`, a.BuyerID); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO addresses
			(id, buyer_id, name, phone, province, city, district, detail, is_default, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			a.ID, a.BuyerID, a.Name, s.seal.Seal(a.Phone), a.Province, a.City, a.District, s.seal.Seal(a.Detail),
			a.IsDefault, a.CreatedAt, a.UpdatedAt)
		return err
	})
	return identityErr(err, "identity: create address")
}

const addressCols = `id, buyer_id, name, phone, province, city, district, detail, is_default, created_at, updated_at`

func (s *Store) Addresses(ctx context.Context, buyerID string) ([]identity.Address, error) {
	out := []identity.Address{}
	if !ids.Valid(buyerID) {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+addressCols+` FROM addresses WHERE buyer_id = $1
		ORDER BY is_default DESC, created_at DESC, id DESC`, buyerID)
	if err != nil {
		return nil, errs.Wrap(err, "identity: addresses")
	}
	defer rows.Close()
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
	if !ids.Valid(id) || !ids.Valid(buyerID) {
		return nil, identity.ErrAddressNotFound
	}
	a, err := s.scanAddress(s.pool.QueryRow(ctx, `SELECT `+addressCols+` FROM addresses WHERE id = $1 AND buyer_id = $2`, id, buyerID))
	return a, identityErr(err, "identity: address")
}

func (s *Store) UpdateAddress(ctx context.Context, buyerID, id string, fn func(*identity.Address) error) (*identity.Address, error) {
	if !ids.Valid(id) || !ids.Valid(buyerID) {
		return nil, identity.ErrAddressNotFound
	}
	var out *identity.Address
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := lockBuyer(ctx, tx, buyerID); err != nil {
			if errors.Is(err, identity.ErrBuyerNotFound) {
				return identity.ErrAddressNotFound
			}
			return err
		}
		a, err := s.scanAddress(tx.QueryRow(ctx, `SELECT `+addressCols+` FROM addresses WHERE id = $1 AND buyer_id = $2`, id, buyerID))
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
		a.ID, a.BuyerID = id, buyerID // fn edits the address, not whose it is
		if a.IsDefault {
			if _, err := tx.Exec(ctx, `UPDATE addresses SET is_default = false WHERE buyer_id = $1 AND is_default AND id <> $2`, buyerID, id); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `UPDATE addresses SET name = $1, phone = $2, province = $3, city = $4, district = $5, detail = $6,
			is_default = $7, updated_at = $8 WHERE id = $9`,
			a.Name, s.seal.Seal(a.Phone), a.Province, a.City, a.District, s.seal.Seal(a.Detail), a.IsDefault, a.UpdatedAt, id)
		out = a
		return err
	})
	if err != nil {
		return nil, identityErr(err, "identity: update address")
	}
	return out, nil
}

func (s *Store) DeleteAddress(ctx context.Context, buyerID, id string) error {
	if !ids.Valid(id) || !ids.Valid(buyerID) {
		return identity.ErrAddressNotFound
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM addresses WHERE id = $1 AND buyer_id = $2`, id, buyerID)
	if err != nil {
		return errs.Wrap(err, "identity: delete address")
	}
	if tag.RowsAffected() == 0 {
		return identity.ErrAddressNotFound
	}
	return nil
}

// scanAddress reads one address row and opens its sealed fields; no row is
// ErrAddressNotFound.
func (s *Store) scanAddress(row pgx.Row) (*identity.Address, error) {
	var (
		a             identity.Address
		phone, detail string
	)
	err := row.Scan(&a.ID, &a.BuyerID, &a.Name, &phone, &a.Province, &a.City, &a.District, &detail,
		&a.IsDefault, &a.CreatedAt, &a.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
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
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
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
