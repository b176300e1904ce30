package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/membership"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

func (s *Store) MembershipProgram(ctx context.Context) (membership.Program, error) {
	var body string
	err := s.r.QueryRowContext(ctx, `SELECT body FROM membership_program WHERE id = 1`).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return membership.DefaultProgram, nil
	}
	if err != nil {
		return membership.Program{}, errs.Wrap(err, "membership: program")
	}
	var p membership.Program
	return p, json.Unmarshal([]byte(body), &p)
}

func (s *Store) SetMembershipProgram(ctx context.Context, p membership.Program, at time.Time) error {
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO membership_program (id, body, updated_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`, string(body), ts(at))
	return errs.Wrap(err, "membership: set program")
}

func (s *Store) AddGrowth(ctx context.Context, key, requires, buyerID string, amount money.Fen, at time.Time) (bool, error) {
	ok, err := affected(s.w.ExecContext(ctx, `INSERT INTO member_growth (key, buyer_id, amount, at)
		SELECT ?, ?, ?, ? WHERE ? = '' OR EXISTS (SELECT 1 FROM member_growth WHERE key = ?)
		ON CONFLICT (key) DO NOTHING`, key, buyerID, amount, ts(at), requires, requires))
	return ok, errs.Wrap(err, "membership: growth %s", key)
}

func (s *Store) Growth(ctx context.Context, buyerID string, since time.Time) (money.Fen, error) {
	var g money.Fen
	err := s.r.QueryRowContext(ctx, `SELECT max(COALESCE(sum(amount), 0), 0) FROM member_growth WHERE buyer_id = ? AND at > ?`,
		buyerID, ts(since)).Scan(&g)
	return g, errs.Wrap(err, "membership: growth of %s", buyerID)
}

func (s *Store) MemberTier(ctx context.Context, buyerID string) (string, error) {
	var t string
	err := s.r.QueryRowContext(ctx, `SELECT tier FROM member_tiers WHERE buyer_id = ?`, buyerID).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return t, errs.Wrap(err, "membership: tier of %s", buyerID)
}

func (s *Store) SetMemberTier(ctx context.Context, buyerID, from, to string, growth money.Fen, at time.Time, ev *outbox.Event) (bool, error) {
	var moved bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if from == "" {
			moved, err = affected(tx.ExecContext(ctx, `INSERT INTO member_tiers (buyer_id, tier, growth, updated_at)
				VALUES (?, ?, ?, ?) ON CONFLICT (buyer_id) DO NOTHING`, buyerID, to, growth, ts(at)))
		} else {
			moved, err = affected(tx.ExecContext(ctx, `UPDATE member_tiers SET tier = ?, growth = ?, updated_at = ?
				WHERE buyer_id = ? AND tier = ?`, to, growth, ts(at), buyerID, from))
		}
		if err != nil || !moved || ev == nil {
			return err
		}
		return insertEvents(ctx, tx, []outbox.Event{*ev})
	})
	return moved, errs.Wrap(err, "membership: set tier of %s", buyerID)
}

func (s *Store) MembersAbove(ctx context.Context, code, afterID string, limit int) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT buyer_id FROM member_tiers WHERE tier <> ? AND buyer_id > ? ORDER BY buyer_id LIMIT ?`,
		code, afterID, limit)
	if err != nil {
		return nil, errs.Wrap(err, "membership: members above %s", code)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
