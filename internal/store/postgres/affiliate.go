package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

// bindLock is the transaction-scoped advisory lock every binding write
// takes before it reads the chain it checks for a cycle ("bind" in ASCII):
// two bindings written at once (A under B, B under A) queue on it, so the
// second sees the first and is refused.
const bindLock = 0x62696e64

func (s *Store) AffiliateProgram(ctx context.Context) (*affiliate.Program, error) {
	var body string
	err := s.pool.QueryRow(ctx, `SELECT body FROM affiliate_program WHERE id = 1`).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, affiliate.ErrNoProgram
	}
	if err != nil {
		return nil, errs.Wrap(err, "affiliate: program")
	}
	var p affiliate.Program
	return &p, errs.Wrap(json.Unmarshal([]byte(body), &p), "affiliate: program")
}

func (s *Store) SaveAffiliateProgram(ctx context.Context, p *affiliate.Program) error {
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO affiliate_program (id, body, updated_at) VALUES (1, $1, $2)
		ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`, string(body), p.UpdatedAt)
	return errs.Wrap(err, "affiliate: save program")
}

func (s *Store) CommissionRules(ctx context.Context) ([]affiliate.Rule, error) {
	rows, err := s.pool.Query(ctx, `SELECT scope, target_id::text, rates, updated_at FROM affiliate_rules ORDER BY scope, target_id`)
	if err != nil {
		return nil, errs.Wrap(err, "affiliate: rules")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (affiliate.Rule, error) {
		var r affiliate.Rule
		var rates string
		if err := row.Scan(&r.Scope, &r.TargetID, &rates, &r.UpdatedAt); err != nil {
			return r, err
		}
		r.UpdatedAt = r.UpdatedAt.UTC()
		return r, json.Unmarshal([]byte(rates), &r.Rates)
	})
	if out == nil {
		out = []affiliate.Rule{}
	}
	return out, errs.Wrap(err, "affiliate: rules")
}

func (s *Store) SaveCommissionRule(ctx context.Context, r affiliate.Rule) error {
	rates, err := json.Marshal(r.Rates)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO affiliate_rules (scope, target_id, rates, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (scope, target_id) DO UPDATE SET rates = excluded.rates, updated_at = excluded.updated_at`,
		string(r.Scope), r.TargetID, string(rates), r.UpdatedAt)
	return errs.Wrap(err, "affiliate: save rule")
}

func (s *Store) DeleteCommissionRule(ctx context.Context, scope affiliate.Scope, targetID string) error {
	if !ids.Valid(targetID) {
		return affiliate.ErrRuleNotFound
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM affiliate_rules WHERE scope = $1 AND target_id = $2`, string(scope), targetID)
	if err != nil {
		return errs.Wrap(err, "affiliate: delete rule")
	}
	if tag.RowsAffected() == 0 {
		return affiliate.ErrRuleNotFound
	}
	return nil
}

const promoterColumns = `id::text, invite_code, status, applied_at, decided_at, coalesce(decided_by, ''), note`

func scanPromoter(row pgx.Row) (*affiliate.Promoter, error) {
	var p affiliate.Promoter
	if err := row.Scan(&p.ID, &p.InviteCode, &p.Status, &p.AppliedAt, &p.DecidedAt, &p.DecidedBy, &p.Note); err != nil {
		return nil, err
	}
	p.AppliedAt = p.AppliedAt.UTC()
	p.DecidedAt = utcPtr(p.DecidedAt)
	return &p, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (s *Store) CreatePromoter(ctx context.Context, p *affiliate.Promoter) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO affiliate_promoters
		(id, invite_code, status, applied_at, decided_at, decided_by, note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $4)`,
		p.ID, p.InviteCode, string(p.Status), p.AppliedAt, p.DecidedAt, nullText(p.DecidedBy), p.Note)
	if isUnique(err) {
		if existing, _ := s.Promoter(ctx, p.ID); existing != nil {
			return affiliate.ErrAlreadyPromoter
		}
		return affiliate.ErrCodeTaken
	}
	return errs.Wrap(err, "affiliate: create promoter")
}

func (s *Store) Promoter(ctx context.Context, id string) (*affiliate.Promoter, error) {
	if !ids.Valid(id) {
		return nil, affiliate.ErrNotPromoter
	}
	return promoterWhere(ctx, s.pool, `id = $1`, id)
}

func (s *Store) PromoterByCode(ctx context.Context, code string) (*affiliate.Promoter, error) {
	return promoterWhere(ctx, s.pool, `invite_code = $1`, code)
}

type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func promoterWhere(ctx context.Context, q queryRower, where string, arg any) (*affiliate.Promoter, error) {
	p, err := scanPromoter(q.QueryRow(ctx, `SELECT `+promoterColumns+` FROM affiliate_promoters WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, affiliate.ErrNotPromoter
	}
	return p, errs.Wrap(err, "affiliate: promoter")
}

func (s *Store) Promoters(ctx context.Context, f affiliate.PromoterFilter) (affiliate.PromoterPage, error) {
	f.Limit = affiliate.Limit(f.Limit)
	var n newest
	n.eq("status", string(f.Status))
	if err := n.after("affiliate_promoters", f.Cursor); err != nil {
		return affiliate.PromoterPage{}, affiliate.ErrBadCursor
	}
	q, args := n.query(promoterColumns+", created_at", "affiliate_promoters", f.Limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return affiliate.PromoterPage{}, errs.Wrap(err, "affiliate: promoters")
	}
	type row struct {
		p       affiliate.Promoter
		created time.Time
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.p.ID, &x.p.InviteCode, &x.p.Status, &x.p.AppliedAt, &x.p.DecidedAt, &x.p.DecidedBy, &x.p.Note, &x.created)
		x.p.AppliedAt, x.p.DecidedAt = x.p.AppliedAt.UTC(), utcPtr(x.p.DecidedAt)
		return x, err
	})
	if err != nil {
		return affiliate.PromoterPage{}, errs.Wrap(err, "affiliate: promoters")
	}
	all, next := cursor.Page("affiliate_promoters", all, f.Limit, func(r *row) (int64, string) { return r.created.UnixMicro(), r.p.ID })
	out := affiliate.PromoterPage{Promoters: make([]affiliate.Promoter, 0, len(all)), NextCursor: next}
	for _, r := range all {
		out.Promoters = append(out.Promoters, r.p)
	}
	return out, nil
}

func (s *Store) UpdatePromoter(ctx context.Context, id string, fn func(p *affiliate.Promoter) error) (*affiliate.Promoter, error) {
	if !ids.Valid(id) {
		return nil, affiliate.ErrNotPromoter
	}
	var out *affiliate.Promoter
	err := s.tx(ctx, func(tx pgx.Tx) error {
		p, err := promoterWhere(ctx, tx, `id = $1 FOR UPDATE`, id)
		if err != nil {
			return err
		}
		out = p
		if err := fn(p); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE affiliate_promoters SET status = $1, applied_at = $2, decided_at = $3,
			decided_by = $4, note = $5 WHERE id = $6`, string(p.Status), p.AppliedAt, p.DecidedAt,
			nullText(p.DecidedBy), p.Note, id)
		return err
	})
	if errors.Is(err, affiliate.ErrNoop) {
		err = nil
	}
	if err != nil {
		return nil, errs.Wrap(err, "affiliate: update promoter")
	}
	return out, nil
}

func bindingOf(ctx context.Context, q queryRower, buyerID string) (*affiliate.Binding, error) {
	var b affiliate.Binding
	err := q.QueryRow(ctx, `SELECT buyer_id::text, promoter_id::text, via, ref, device_id, bound_at, expires_at
		FROM affiliate_bindings WHERE buyer_id = $1`, buyerID).Scan(&b.BuyerID, &b.PromoterID, &b.Via, &b.Ref, &b.DeviceID, &b.BoundAt, &b.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, affiliate.ErrNotBound
	}
	b.BoundAt, b.ExpiresAt = b.BoundAt.UTC(), utcPtr(b.ExpiresAt)
	return &b, err
}

func (s *Store) Binding(ctx context.Context, buyerID string) (*affiliate.Binding, error) {
	if !ids.Valid(buyerID) {
		return nil, affiliate.ErrNotBound
	}
	b, err := bindingOf(ctx, s.pool, buyerID)
	if err != nil && !errors.Is(err, affiliate.ErrNotBound) {
		return nil, errs.Wrap(err, "affiliate: binding")
	}
	return b, err
}

func (s *Store) Bind(ctx context.Context, b affiliate.Binding, decide func(cur, next *affiliate.Binding, chain []string) error) (*affiliate.Binding, error) {
	var out *affiliate.Binding
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(bindLock)); err != nil {
			return err
		}
		cur, err := bindingOf(ctx, tx, b.BuyerID)
		if errors.Is(err, affiliate.ErrNotBound) {
			cur, err = nil, nil
		}
		if err != nil {
			return err
		}
		chain, err := chainOf(ctx, tx, b.PromoterID, time.Time{}, affiliate.MaxChain)
		if err != nil {
			return err
		}
		out = cur
		nb := b
		if err := decide(cur, &nb, chain); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO affiliate_bindings (buyer_id, promoter_id, via, ref, device_id, bound_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (buyer_id) DO UPDATE SET promoter_id = excluded.promoter_id,
			via = excluded.via, ref = excluded.ref, device_id = excluded.device_id, bound_at = excluded.bound_at,
			expires_at = excluded.expires_at`,
			nb.BuyerID, nb.PromoterID, string(nb.Via), nb.Ref, nb.DeviceID, nb.BoundAt, nb.ExpiresAt); err != nil {
			return err
		}
		out = &nb
		return nil
	})
	if errors.Is(err, affiliate.ErrNoop) {
		return out, nil
	}
	if err != nil {
		return nil, errs.Wrap(err, "affiliate: bind")
	}
	return out, nil
}

// chainOf walks up from a promoter through the bindings in one recursive
// query: the promoter, the one they are bound to, and so on, n at most. A
// zero at follows every binding; otherwise only those holding at at.
func chainOf(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, promoterID string, at time.Time, n int) ([]string, error) {
	var atArg any
	if !at.IsZero() {
		atArg = at
	}
	rows, err := q.Query(ctx, `WITH RECURSIVE up (id, depth) AS (
			SELECT $1::uuid, 1
			UNION ALL
			SELECT b.promoter_id, up.depth + 1 FROM up JOIN affiliate_bindings b ON b.buyer_id = up.id
			WHERE up.depth < $2 AND ($3::timestamptz IS NULL OR b.expires_at IS NULL OR b.expires_at > $3::timestamptz))
		SELECT id::text FROM up ORDER BY depth`, promoterID, n, atArg)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (s *Store) Upline(ctx context.Context, buyerID string, n int, at time.Time) ([]string, error) {
	if n <= 0 || !ids.Valid(buyerID) {
		return nil, nil
	}
	chain, err := chainOf(ctx, s.pool, buyerID, at, n+1)
	if err != nil {
		return nil, errs.Wrap(err, "affiliate: upline")
	}
	return chain[1:], nil
}

func (s *Store) AffiliateTeam(ctx context.Context, promoterID string, f affiliate.TeamFilter) (affiliate.TeamPage, error) {
	f.Limit = affiliate.Limit(f.Limit)
	if !ids.Valid(promoterID) {
		return affiliate.TeamPage{Members: []affiliate.Member{}}, nil
	}
	from := `affiliate_bindings b WHERE b.promoter_id = $1`
	if f.Tier == 2 {
		from = `affiliate_bindings b JOIN affiliate_bindings up ON up.buyer_id = b.promoter_id WHERE up.promoter_id = $1`
	}
	args := []any{promoterID, f.Limit + 1}
	if f.Cursor != "" {
		at, id, err := cursor.Decode("affiliate_team", f.Cursor)
		if err != nil {
			return affiliate.TeamPage{}, affiliate.ErrBadCursor
		}
		from += ` AND (b.bound_at, b.buyer_id) < ($3, $4)`
		args = append(args, time.UnixMicro(at), id)
	}
	rows, err := s.pool.Query(ctx, `SELECT b.buyer_id::text, b.bound_at,
			EXISTS (SELECT 1 FROM affiliate_promoters p WHERE p.id = b.buyer_id AND p.status = 'approved')
		FROM `+from+` ORDER BY b.bound_at DESC, b.buyer_id DESC LIMIT $2`, args...)
	if err != nil {
		return affiliate.TeamPage{}, errs.Wrap(err, "affiliate: team")
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (affiliate.Member, error) {
		m := affiliate.Member{Tier: f.Tier}
		err := r.Scan(&m.BuyerID, &m.BoundAt, &m.Promoter)
		m.BoundAt = m.BoundAt.UTC()
		return m, err
	})
	if err != nil {
		return affiliate.TeamPage{}, errs.Wrap(err, "affiliate: team")
	}
	ms, next := cursor.Page("affiliate_team", ms, f.Limit, func(m *affiliate.Member) (int64, string) {
		return m.BoundAt.UnixMicro(), m.BuyerID
	})
	if ms == nil {
		ms = []affiliate.Member{}
	}
	return affiliate.TeamPage{Members: ms, NextCursor: next}, nil
}
