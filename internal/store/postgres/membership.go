package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/membership"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func (s *Store) MembershipProgram(ctx context.Context) (membership.Program, error) {
	var body string
	err := s.pool.QueryRow(ctx, `SELECT body FROM membership_program WHERE id = 1`).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
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
	_, err = s.pool.Exec(ctx, `INSERT INTO membership_program (id, body, updated_at) VALUES (1, $1, $2)
		ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`, string(body), at)
	return errs.Wrap(err, "membership: set program")
}

func (s *Store) AddGrowth(ctx context.Context, key, requires, buyerID string, amount money.Fen, at time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO member_growth (key, buyer_id, amount, at)
		SELECT $1, $2, $3, $4 WHERE $5 = '' OR EXISTS (SELECT 1 FROM member_growth WHERE key = $5)
		ON CONFLICT (key) DO NOTHING`, key, buyerID, amount, at, requires)
	return err == nil && tag.RowsAffected() == 1, errs.Wrap(err, "membership: growth %s", key)
}

func (s *Store) Growth(ctx context.Context, buyerID string, since time.Time) (money.Fen, error) {
	var g money.Fen
	if !ids.Valid(buyerID) {
		return 0, nil
	}
	err := s.pool.QueryRow(ctx, `SELECT GREATEST(COALESCE(sum(amount), 0), 0) FROM member_growth WHERE buyer_id = $1 AND at > $2`,
		buyerID, since).Scan(&g)
	return g, errs.Wrap(err, "membership: growth of %s", buyerID)
}

func (s *Store) MemberTier(ctx context.Context, buyerID string) (string, error) {
	var t string
	if !ids.Valid(buyerID) {
		return "", nil
	}
	err := s.pool.QueryRow(ctx, `SELECT tier FROM member_tiers WHERE buyer_id = $1`, buyerID).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return t, errs.Wrap(err, "membership: tier of %s", buyerID)
}

// SetMemberTier moves the tier with a conditional write on the tier it
// was, so two evaluations racing write one change and one event.
func (s *Store) SetMemberTier(ctx context.Context, buyerID, from, to string, growth money.Fen, at time.Time, ev *outbox.Event) (bool, error) {
	var moved bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var tag interface{ RowsAffected() int64 }
		var err error
		if from == "" {
			tag, err = tx.Exec(ctx, `INSERT INTO member_tiers (buyer_id, tier, growth, updated_at)
				VALUES ($1, $2, $3, $4) ON CONFLICT (buyer_id) DO NOTHING`, buyerID, to, growth, at)
		} else {
			tag, err = tx.Exec(ctx, `UPDATE member_tiers SET tier = $2, growth = $3, updated_at = $4
				WHERE buyer_id = $1 AND tier = $5`, buyerID, to, growth, at, from)
		}
		if err != nil {
			return err
		}
		moved = tag.RowsAffected() == 1
		if !moved || ev == nil {
			return nil
		}
		b := &pgx.Batch{}
		queueEvents(b, []outbox.Event{*ev})
		return tx.SendBatch(ctx, b).Close()
	})
	return moved, errs.Wrap(err, "membership: set tier of %s", buyerID)
}

func (s *Store) MembersAbove(ctx context.Context, code, afterID string, limit int) ([]string, error) {
	if afterID == "" {
		afterID = "00000000-0000-0000-0000-000000000000"
	}
	rows, err := s.pool.Query(ctx, `SELECT buyer_id::text FROM member_tiers WHERE tier <> $1 AND buyer_id > $2 ORDER BY buyer_id LIMIT $3`,
		code, afterID, limit)
	if err != nil {
		return nil, errs.Wrap(err, "membership: members above %s", code)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
