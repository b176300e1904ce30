package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

func (s *Store) AffiliateProgram(ctx context.Context) (*affiliate.Program, error) {
	var body string
	err := s.r.QueryRowContext(ctx, `SELECT body FROM affiliate_program WHERE id = 1`).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
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
	err = s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO affiliate_program (id, body, updated_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`, string(body), ts(p.UpdatedAt))
		return err
	})
	return errs.Wrap(err, "affiliate: save program")
}

func (s *Store) CommissionRules(ctx context.Context) ([]affiliate.Rule, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT scope, target_id, rates, updated_at FROM affiliate_rules ORDER BY scope, target_id`)
	if err != nil {
		return nil, errs.Wrap(err, "affiliate: rules")
	}
	defer rows.Close()
	out := []affiliate.Rule{}
	for rows.Next() {
		var r affiliate.Rule
		var rates string
		var at int64
		if err := rows.Scan(&r.Scope, &r.TargetID, &rates, &at); err != nil {
			return nil, errs.Wrap(err, "affiliate: rules")
		}
		if err := json.Unmarshal([]byte(rates), &r.Rates); err != nil {
			return nil, errs.Wrap(err, "affiliate: rules")
		}
		r.UpdatedAt = fromTS(at)
		out = append(out, r)
	}
	return out, errs.Wrap(rows.Err(), "affiliate: rules")
}

func (s *Store) SaveCommissionRule(ctx context.Context, r affiliate.Rule) error {
	rates, err := json.Marshal(r.Rates)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO affiliate_rules (scope, target_id, rates, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (scope, target_id) DO UPDATE SET rates = excluded.rates, updated_at = excluded.updated_at`,
			string(r.Scope), r.TargetID, string(rates), ts(r.UpdatedAt))
		return err
	})
	return errs.Wrap(err, "affiliate: save rule")
}

func (s *Store) DeleteCommissionRule(ctx context.Context, scope affiliate.Scope, targetID string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM affiliate_rules WHERE scope = ? AND target_id = ?`, string(scope), targetID)
		if err != nil {
			return errs.Wrap(err, "affiliate: delete rule")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return affiliate.ErrRuleNotFound
		}
		return nil
	})
}

const promoterColumns = `id, invite_code, status, applied_at, decided_at, coalesce(decided_by, ''), note`

func scanPromoter(row interface{ Scan(...any) error }) (*affiliate.Promoter, error) {
	var p affiliate.Promoter
	var applied int64
	var decided sql.NullInt64
	if err := row.Scan(&p.ID, &p.InviteCode, &p.Status, &applied, &decided, &p.DecidedBy, &p.Note); err != nil {
		return nil, err
	}
	p.AppliedAt, p.DecidedAt = fromTS(applied), fromTSPtr(decided)
	return &p, nil
}

func (s *Store) CreatePromoter(ctx context.Context, p *affiliate.Promoter) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO affiliate_promoters
			(id, invite_code, status, applied_at, decided_at, decided_by, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.InviteCode, string(p.Status), ts(p.AppliedAt), tsPtr(p.DecidedAt), nullText(p.DecidedBy), p.Note, ts(p.AppliedAt))
		switch {
		case err == nil:
			return nil
		case strings.Contains(err.Error(), "affiliate_promoters.id"):
			return affiliate.ErrAlreadyPromoter
		case strings.Contains(err.Error(), "affiliate_promoters.invite_code"):
			return affiliate.ErrCodeTaken
		}
		return errs.Wrap(err, "affiliate: create promoter")
	})
}

func (s *Store) Promoter(ctx context.Context, id string) (*affiliate.Promoter, error) {
	return s.promoterWhere(ctx, s.r, `id = ?`, id)
}

func (s *Store) PromoterByCode(ctx context.Context, code string) (*affiliate.Promoter, error) {
	return s.promoterWhere(ctx, s.r, `invite_code = ?`, code)
}

func (s *Store) promoterWhere(ctx context.Context, q querier, where string, arg any) (*affiliate.Promoter, error) {
	p, err := scanPromoter(q.QueryRowContext(ctx, `SELECT `+promoterColumns+` FROM affiliate_promoters WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
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
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return affiliate.PromoterPage{}, errs.Wrap(err, "affiliate: promoters")
	}
	defer rows.Close()
	type row struct {
		p       affiliate.Promoter
		created int64
	}
	var all []row
	for rows.Next() {
		var r row
		var applied int64
		var decided sql.NullInt64
		if err := rows.Scan(&r.p.ID, &r.p.InviteCode, &r.p.Status, &applied, &decided, &r.p.DecidedBy, &r.p.Note, &r.created); err != nil {
			return affiliate.PromoterPage{}, errs.Wrap(err, "affiliate: promoters")
		}
		r.p.AppliedAt, r.p.DecidedAt = fromTS(applied), fromTSPtr(decided)
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		return affiliate.PromoterPage{}, errs.Wrap(err, "affiliate: promoters")
	}
	all, next := cursor.Page("affiliate_promoters", all, f.Limit, func(r *row) (int64, string) { return r.created, r.p.ID })
	out := affiliate.PromoterPage{Promoters: make([]affiliate.Promoter, 0, len(all)), NextCursor: next}
	for _, r := range all {
		out.Promoters = append(out.Promoters, r.p)
	}
	return out, nil
}

func (s *Store) UpdatePromoter(ctx context.Context, id string, fn func(p *affiliate.Promoter) error) (*affiliate.Promoter, error) {
	var out *affiliate.Promoter
	err := s.tx(ctx, func(tx *sql.Tx) error {
		p, err := s.promoterWhere(ctx, tx, `id = ?`, id)
		if err != nil {
			return err
		}
		out = p
		if err := fn(p); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE affiliate_promoters SET status = ?, applied_at = ?, decided_at = ?,
			decided_by = ?, note = ? WHERE id = ?`, string(p.Status), ts(p.AppliedAt), tsPtr(p.DecidedAt),
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

func scanBinding(row interface{ Scan(...any) error }) (*affiliate.Binding, error) {
	var b affiliate.Binding
	var bound int64
	var exp sql.NullInt64
	if err := row.Scan(&b.BuyerID, &b.PromoterID, &b.Via, &b.Ref, &b.DeviceID, &bound, &exp); err != nil {
		return nil, err
	}
	b.BoundAt, b.ExpiresAt = fromTS(bound), fromTSPtr(exp)
	return &b, nil
}

func bindingOf(ctx context.Context, q querier, buyerID string) (*affiliate.Binding, error) {
	b, err := scanBinding(q.QueryRowContext(ctx, `SELECT buyer_id, promoter_id, via, ref, device_id, bound_at, expires_at
		FROM affiliate_bindings WHERE buyer_id = ?`, buyerID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, affiliate.ErrNotBound
	}
	return b, err
}

func (s *Store) Binding(ctx context.Context, buyerID string) (*affiliate.Binding, error) {
	b, err := bindingOf(ctx, s.r, buyerID)
	if err != nil && !errors.Is(err, affiliate.ErrNotBound) {
		return nil, errs.Wrap(err, "affiliate: binding")
	}
	return b, err
}

// Bind runs on the one writer, so the chain it reads cannot change before
// it writes.
func (s *Store) Bind(ctx context.Context, b affiliate.Binding, decide func(cur, next *affiliate.Binding, chain []string) error) (*affiliate.Binding, error) {
	var out *affiliate.Binding
	err := s.tx(ctx, func(tx *sql.Tx) error {
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
		_, err = tx.ExecContext(ctx, `INSERT INTO affiliate_bindings (buyer_id, promoter_id, via, ref, device_id, bound_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (buyer_id) DO UPDATE SET promoter_id = excluded.promoter_id,
			via = excluded.via, ref = excluded.ref, device_id = excluded.device_id, bound_at = excluded.bound_at,
			expires_at = excluded.expires_at`,
			nb.BuyerID, nb.PromoterID, string(nb.Via), nb.Ref, nb.DeviceID, ts(nb.BoundAt), tsPtr(nb.ExpiresAt))
		if err != nil {
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

// chainOf walks up from a promoter through the bindings: the promoter, the
// one they are bound to, and so on, n at most. A zero at follows every
// binding; otherwise only those holding at at.
func chainOf(ctx context.Context, q querier, promoterID string, at time.Time, n int) ([]string, error) {
	chain := []string{}
	for id := promoterID; id != "" && len(chain) < n; {
		chain = append(chain, id)
		var next string
		var exp sql.NullInt64
		err := q.QueryRowContext(ctx, `SELECT promoter_id, expires_at FROM affiliate_bindings WHERE buyer_id = ?`, id).Scan(&next, &exp)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return nil, err
		}
		if !at.IsZero() && exp.Valid && exp.Int64 <= ts(at) {
			break
		}
		id = next
	}
	return chain, nil
}

func (s *Store) Upline(ctx context.Context, buyerID string, n int, at time.Time) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	chain, err := chainOf(ctx, s.r, buyerID, at, n+1)
	if err != nil {
		return nil, errs.Wrap(err, "affiliate: upline")
	}
	return chain[1:], nil
}

func (s *Store) AffiliateTeam(ctx context.Context, promoterID string, f affiliate.TeamFilter) (affiliate.TeamPage, error) {
	f.Limit = affiliate.Limit(f.Limit)
	from := `affiliate_bindings b WHERE b.promoter_id = ?`
	if f.Tier == 2 {
		from = `affiliate_bindings b JOIN affiliate_bindings up ON up.buyer_id = b.promoter_id WHERE up.promoter_id = ?`
	}
	args := []any{promoterID}
	if f.Cursor != "" {
		at, id, err := cursor.Decode("affiliate_team", f.Cursor)
		if err != nil {
			return affiliate.TeamPage{}, affiliate.ErrBadCursor
		}
		from += ` AND (b.bound_at, b.buyer_id) < (?, ?)`
		args = append(args, at, id)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT b.buyer_id, b.bound_at,
			EXISTS (SELECT 1 FROM affiliate_promoters p WHERE p.id = b.buyer_id AND p.status = 'approved')
		FROM `+from+` ORDER BY b.bound_at DESC, b.buyer_id DESC LIMIT ?`, append(args, f.Limit+1)...)
	if err != nil {
		return affiliate.TeamPage{}, errs.Wrap(err, "affiliate: team")
	}
	defer rows.Close()
	var ms []affiliate.Member
	for rows.Next() {
		m := affiliate.Member{Tier: f.Tier}
		var at int64
		if err := rows.Scan(&m.BuyerID, &at, &m.Promoter); err != nil {
			return affiliate.TeamPage{}, errs.Wrap(err, "affiliate: team")
		}
		m.BoundAt = fromTS(at)
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
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
