package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
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

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
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

func (s *Store) RecordSale(ctx context.Context, sale *affiliate.Sale, cs []affiliate.Commission, c affiliate.Change) (bool, error) {
	recorded := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO affiliate_sales (order_id, buyer_id, self_buy, paid, paid_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id) DO NOTHING`,
			sale.OrderID, sale.BuyerID, sale.SelfBuy, int64(sale.Paid), sale.PaidAt)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		recorded = true
		if len(cs) > 0 {
			rows := make([][]any, 0, len(cs))
			for _, x := range cs {
				rows = append(rows, []any{x.ID, x.OrderID, x.LineID, x.BuyerID, x.PromoterID, int16(x.Tier), x.ProductID,
					x.SKUID, int64(x.Base), int32(x.Rate), int64(x.Amount), string(x.State), x.CreatedAt})
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"affiliate_commissions"}, []string{"id", "order_id", "line_id",
				"buyer_id", "promoter_id", "tier", "product_id", "sku_id", "base", "rate", "amount", "state", "created_at"},
				pgx.CopyFromRows(rows)); err != nil {
				return err
			}
		}
		return writeAffiliateChange(ctx, tx, c)
	})
	return recorded, errs.Wrap(err, "affiliate: record sale")
}

// writeAffiliateChange writes the ledger side of a change: settlements
// before new transfers, then jobs.
func writeAffiliateChange(ctx context.Context, tx pgx.Tx, c affiliate.Change) error {
	now := time.Now()
	if len(c.Post) > 0 {
		if err := settleTransfers(ctx, tx, c.Post, ledger.Posted, now); err != nil {
			return err
		}
	}
	if len(c.Void) > 0 {
		if err := settleTransfers(ctx, tx, c.Void, ledger.Voided, now); err != nil {
			return err
		}
	}
	if len(c.Transfers) > 0 {
		if err := postTransfers(ctx, tx, c.Transfers); err != nil {
			return err
		}
	}
	if len(c.Jobs) > 0 {
		b := &pgx.Batch{}
		queueJobs(b, c.Jobs)
		return tx.SendBatch(ctx, b).Close()
	}
	return nil
}

const saleColumns = `order_id::text, buyer_id::text, self_buy, paid, paid_at, settle_after, settled_at`

func scanSale(row pgx.Row) (*affiliate.Sale, error) {
	var x affiliate.Sale
	if err := row.Scan(&x.OrderID, &x.BuyerID, &x.SelfBuy, &x.Paid, &x.PaidAt, &x.SettleAfter, &x.SettledAt); err != nil {
		return nil, err
	}
	x.PaidAt, x.SettleAfter, x.SettledAt = x.PaidAt.UTC(), utcPtr(x.SettleAfter), utcPtr(x.SettledAt)
	return &x, nil
}

func (s *Store) Sale(ctx context.Context, orderID string) (*affiliate.Sale, error) {
	if !ids.Valid(orderID) {
		return nil, affiliate.ErrNoSale
	}
	x, err := scanSale(s.pool.QueryRow(ctx, `SELECT `+saleColumns+` FROM affiliate_sales WHERE order_id = $1`, orderID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, affiliate.ErrNoSale
	}
	return x, errs.Wrap(err, "affiliate: sale")
}

func (s *Store) ScheduleSettlement(ctx context.Context, orderID string, at time.Time) (bool, error) {
	if !ids.Valid(orderID) {
		return false, nil
	}
	tag, err := s.pool.Exec(ctx, `UPDATE affiliate_sales SET settle_after = $1 WHERE order_id = $2 AND settle_after IS NULL`, at, orderID)
	return err == nil && tag.RowsAffected() == 1, errs.Wrap(err, "affiliate: schedule settlement")
}

const commissionColumns = `id::text, order_id::text, line_id::text, buyer_id::text, promoter_id::text, tier, product_id::text,
	sku_id::text, base, rate, amount, refunded, reversed, settled, clawed_back, state, created_at, settled_at`

func scanCommissions(rows pgx.Rows) ([]affiliate.Commission, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (affiliate.Commission, error) {
		var c affiliate.Commission
		var tier int16
		var rate int32
		err := r.Scan(&c.ID, &c.OrderID, &c.LineID, &c.BuyerID, &c.PromoterID, &tier, &c.ProductID, &c.SKUID,
			&c.Base, &rate, &c.Amount, &c.Refunded, &c.Reversed, &c.Settled, &c.ClawedBack, &c.State, &c.CreatedAt, &c.SettledAt)
		c.Tier, c.Rate, c.CreatedAt, c.SettledAt = int(tier), money.BP(rate), c.CreatedAt.UTC(), utcPtr(c.SettledAt)
		return c, err
	})
}

// updateCommissions writes the changed columns of cs in one statement.
func updateCommissions(ctx context.Context, tx pgx.Tx, cs []affiliate.Commission) error {
	if len(cs) == 0 {
		return nil
	}
	var (
		id, state                           []string
		refunded, reversed, settled, clawed []int64
		settledAt                           []*time.Time
	)
	for _, c := range cs {
		id, state = append(id, c.ID), append(state, string(c.State))
		refunded, reversed = append(refunded, int64(c.Refunded)), append(reversed, int64(c.Reversed))
		settled, clawed = append(settled, int64(c.Settled)), append(clawed, int64(c.ClawedBack))
		settledAt = append(settledAt, c.SettledAt)
	}
	_, err := tx.Exec(ctx, `UPDATE affiliate_commissions c SET refunded = u.refunded, reversed = u.reversed,
			settled = u.settled, clawed_back = u.clawed, state = u.state, settled_at = u.settled_at
		FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::timestamptz[])
			AS u (id, refunded, reversed, settled, clawed, state, settled_at)
		WHERE c.id = u.id`, id, refunded, reversed, settled, clawed, state, settledAt)
	return err
}

func (s *Store) ApplyRefund(ctx context.Context, refundID, orderID string,
	fn func(s *affiliate.Sale, cs []affiliate.Commission) ([]affiliate.Commission, affiliate.Change, error)) (bool, error) {
	if !ids.Valid(orderID) || !ids.Valid(refundID) {
		return false, nil
	}
	applied := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		sale, err := scanSale(tx.QueryRow(ctx, `SELECT `+saleColumns+` FROM affiliate_sales WHERE order_id = $1 FOR UPDATE`, orderID))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO affiliate_refunds (refund_id, order_id, at) VALUES ($1, $2, now())
			ON CONFLICT (refund_id) DO NOTHING`, refundID, orderID)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+commissionColumns+` FROM affiliate_commissions WHERE order_id = $1
			ORDER BY line_id, tier`, orderID)
		if err != nil {
			return err
		}
		cs, err := scanCommissions(rows)
		if err != nil {
			return err
		}
		changed, c, err := fn(sale, cs)
		if err != nil {
			return err
		}
		applied = true
		if err := updateCommissions(ctx, tx, changed); err != nil {
			return err
		}
		return writeAffiliateChange(ctx, tx, c)
	})
	return applied, errs.Wrap(err, "affiliate: apply refund")
}

// SettleDue locks its sales FOR UPDATE SKIP LOCKED, so replicas sweeping at
// once take different sales, and a refund applying to one of them (which
// locks the sale) either waits for the settlement or is waited for.
func (s *Store) SettleDue(ctx context.Context, now time.Time,
	limit int, fn func(sales []*affiliate.Sale, cs []affiliate.Commission) ([]affiliate.Commission, affiliate.Change, error)) (int, error) {
	settled := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+saleColumns+` FROM affiliate_sales x
			WHERE settled_at IS NULL AND settle_after <= $1
			AND NOT EXISTS (SELECT 1 FROM aftersales a WHERE a.order_id = x.order_id
				AND a.state IN ('requested', 'approved', 'refunding'))
			AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = x.order_id
				AND r.state IN ('pending', 'processing', 'abnormal'))
			ORDER BY settle_after, order_id LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
		if err != nil {
			return err
		}
		sales, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*affiliate.Sale, error) { return scanSale(r) })
		if err != nil || len(sales) == 0 {
			return err
		}
		orderIDs := make([]string, len(sales))
		for i, x := range sales {
			orderIDs[i] = x.OrderID
		}
		rows, err = tx.Query(ctx, `SELECT `+commissionColumns+` FROM affiliate_commissions WHERE order_id = ANY($1::uuid[])
			ORDER BY order_id, line_id, tier`, orderIDs)
		if err != nil {
			return err
		}
		all, err := scanCommissions(rows)
		if err != nil {
			return err
		}
		changed, change, err := fn(sales, all)
		if err != nil {
			return err
		}
		if err := updateCommissions(ctx, tx, changed); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE affiliate_sales SET settled_at = $1 WHERE order_id = ANY($2::uuid[])`, now, orderIDs); err != nil {
			return err
		}
		settled = len(sales)
		return writeAffiliateChange(ctx, tx, change)
	})
	if err != nil {
		return 0, errs.Wrap(err, "affiliate: settle")
	}
	return settled, nil
}

func (s *Store) DueSales(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM affiliate_sales WHERE settled_at IS NULL AND settle_after <= $1`, now).Scan(&n)
	return n, errs.Wrap(err, "affiliate: due sales")
}

func (s *Store) Commissions(ctx context.Context, f affiliate.CommissionFilter) (affiliate.CommissionPage, error) {
	f.Limit = affiliate.Limit(f.Limit)
	if (f.PromoterID != "" && !ids.Valid(f.PromoterID)) || (f.OrderID != "" && !ids.Valid(f.OrderID)) {
		return affiliate.CommissionPage{Commissions: []affiliate.Commission{}}, nil
	}
	var n newest
	n.eq("promoter_id", f.PromoterID)
	n.eq("order_id", f.OrderID)
	if err := n.after("affiliate_commissions", f.Cursor); err != nil {
		return affiliate.CommissionPage{}, affiliate.ErrBadCursor
	}
	q, args := n.query(commissionColumns, "affiliate_commissions", f.Limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return affiliate.CommissionPage{}, errs.Wrap(err, "affiliate: commissions")
	}
	cs, err := scanCommissions(rows)
	if err != nil {
		return affiliate.CommissionPage{}, errs.Wrap(err, "affiliate: commissions")
	}
	cs, next := cursor.Page("affiliate_commissions", cs, f.Limit, func(c *affiliate.Commission) (int64, string) {
		return c.CreatedAt.UnixMicro(), c.ID
	})
	if cs == nil {
		cs = []affiliate.Commission{}
	}
	return affiliate.CommissionPage{Commissions: cs, NextCursor: next}, nil
}

// earningsSQL sums a promoter's money (or everyone's, with the filter
// "true"): commissions by state, withdrawals by state.
const earningsSQL = `SELECT
	(SELECT coalesce(sum(amount - reversed - settled), 0)::bigint FROM affiliate_commissions WHERE state = 'pending' AND %[1]s),
	(SELECT coalesce(sum(settled), 0)::bigint FROM affiliate_commissions WHERE %[1]s),
	(SELECT coalesce(sum(clawed_back), 0)::bigint FROM affiliate_commissions WHERE %[1]s),
	(SELECT coalesce(sum(amount), 0)::bigint FROM affiliate_withdrawals WHERE state IN ('requested', 'approved', 'processing') AND %[1]s),
	(SELECT coalesce(sum(amount), 0)::bigint FROM affiliate_withdrawals WHERE state = 'succeeded' AND %[1]s)`

func earnings(ctx context.Context, q queryRower, promoterID string) (affiliate.Earnings, error) {
	var e affiliate.Earnings
	where, args := "true", []any{}
	if promoterID != "" {
		where, args = "promoter_id = $1", []any{promoterID}
	}
	err := q.QueryRow(ctx, fmt.Sprintf(earningsSQL, where), args...).
		Scan(&e.Pending, &e.Credited, &e.ClawedBack, &e.Withdrawing, &e.Withdrawn)
	e.Fill()
	return e, err
}

func (s *Store) Earnings(ctx context.Context, promoterID string) (affiliate.Earnings, error) {
	if !ids.Valid(promoterID) {
		return affiliate.Earnings{}, nil
	}
	e, err := earnings(ctx, s.pool, promoterID)
	return e, errs.Wrap(err, "affiliate: earnings")
}

func (s *Store) EarningsTotal(ctx context.Context) (affiliate.Earnings, error) {
	e, err := earnings(ctx, s.pool, "")
	return e, errs.Wrap(err, "affiliate: earnings")
}

func (s *Store) PromoterStats(ctx context.Context) ([]affiliate.PromoterStats, error) {
	rows, err := s.pool.Query(ctx, `SELECT p.id::text,
		(SELECT count(*) FROM affiliate_bindings b WHERE b.promoter_id = p.id),
		(SELECT count(DISTINCT order_id) FROM affiliate_commissions c WHERE c.promoter_id = p.id AND c.tier = 1),
		(SELECT count(DISTINCT order_id) FROM affiliate_commissions c WHERE c.promoter_id = p.id AND c.tier = 1 AND c.refunded > 0),
		(SELECT count(DISTINCT buyer_id) FROM affiliate_commissions c WHERE c.promoter_id = p.id AND c.tier = 1 AND c.refunded > 0),
		(SELECT count(*) FROM affiliate_sales x WHERE x.buyer_id = p.id AND x.self_buy),
		(SELECT count(*) FROM (SELECT 1 FROM affiliate_bindings b WHERE b.promoter_id = p.id AND b.device_id <> ''
			GROUP BY b.device_id HAVING count(*) >= $1) d),
		(SELECT coalesce(sum(amount - reversed - clawed_back), 0)::bigint FROM affiliate_commissions c WHERE c.promoter_id = p.id),
		(SELECT coalesce(sum(amount - reversed - settled), 0)::bigint FROM affiliate_commissions c WHERE c.promoter_id = p.id AND c.state = 'pending')
		FROM affiliate_promoters p WHERE p.status = 'approved' ORDER BY p.id`, affiliate.ClusterDownlines)
	if err != nil {
		return nil, errs.Wrap(err, "affiliate: promoter stats")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (affiliate.PromoterStats, error) {
		var x affiliate.PromoterStats
		var d, o, ro, rb, sp, dc int64
		err := r.Scan(&x.PromoterID, &d, &o, &ro, &rb, &sp, &dc, &x.Earned, &x.Pending)
		x.Downlines, x.Orders, x.RefundedOrders, x.RefundingBuyers, x.SelfPurchases = int(d), int(o), int(ro), int(rb), int(sp)
		x.DeviceClusters = int(dc)
		return x, err
	})
	if out == nil {
		out = []affiliate.PromoterStats{}
	}
	return out, errs.Wrap(err, "affiliate: promoter stats")
}

const withdrawalColumns = `id::text, promoter_id::text, amount, state, out_bill_no, bill_no, failure, package_info, decided_by, note,
	created_at, updated_at, finished_at`

func scanWithdrawal(row pgx.Row) (*affiliate.Withdrawal, error) {
	var w affiliate.Withdrawal
	if err := row.Scan(&w.ID, &w.PromoterID, &w.Amount, &w.State, &w.OutBillNo, &w.BillNo, &w.Failure,
		&w.PackageInfo, &w.DecidedBy, &w.Note, &w.CreatedAt, &w.UpdatedAt, &w.FinishedAt); err != nil {
		return nil, err
	}
	w.CreatedAt, w.UpdatedAt, w.FinishedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC(), utcPtr(w.FinishedAt)
	return &w, nil
}

func (s *Store) CreateWithdrawal(ctx context.Context, promoterID string, dayStart, dayEnd time.Time,
	plan func(p *affiliate.Promoter, e affiliate.Earnings, day affiliate.DayUse) (*affiliate.Withdrawal, affiliate.Change, error)) (*affiliate.Withdrawal, error) {
	if !ids.Valid(promoterID) {
		return nil, affiliate.ErrNotPromoter
	}
	var out *affiliate.Withdrawal
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// The promoter's row is the lock: two withdrawals of one promoter
		// queue, so they cannot both spend one balance or one day's limit.
		p, err := promoterWhere(ctx, tx, `id = $1 FOR UPDATE`, promoterID)
		if err != nil {
			return err
		}
		e, err := earnings(ctx, tx, promoterID)
		if err != nil {
			return err
		}
		var day affiliate.DayUse
		if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(sum(amount), 0)::bigint FROM affiliate_withdrawals
			WHERE promoter_id = $1 AND state NOT IN ('failed', 'rejected') AND created_at >= $2 AND created_at < $3`,
			promoterID, dayStart, dayEnd).Scan(&day.Count, &day.Amount); err != nil {
			return err
		}
		w, c, err := plan(p, e, day)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO affiliate_withdrawals (id, promoter_id, amount, state, out_bill_no, bill_no,
			failure, package_info, decided_by, note, created_at, updated_at, finished_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, w.ID, w.PromoterID, int64(w.Amount),
			string(w.State), w.OutBillNo, w.BillNo, w.Failure, w.PackageInfo, w.DecidedBy, w.Note, w.CreatedAt,
			w.UpdatedAt, w.FinishedAt); err != nil {
			return err
		}
		out = w
		return writeAffiliateChange(ctx, tx, c)
	})
	if err != nil {
		return nil, errs.Wrap(err, "affiliate: withdraw")
	}
	return out, nil
}

func (s *Store) Withdrawal(ctx context.Context, id string) (*affiliate.Withdrawal, error) {
	if !ids.Valid(id) {
		return nil, affiliate.ErrWithdrawalNotFound
	}
	w, err := scanWithdrawal(s.pool.QueryRow(ctx, `SELECT `+withdrawalColumns+` FROM affiliate_withdrawals WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, affiliate.ErrWithdrawalNotFound
	}
	return w, errs.Wrap(err, "affiliate: withdrawal")
}

func (s *Store) Withdrawals(ctx context.Context, f affiliate.WithdrawalFilter) (affiliate.WithdrawalPage, error) {
	f.Limit = affiliate.Limit(f.Limit)
	if f.PromoterID != "" && !ids.Valid(f.PromoterID) {
		return affiliate.WithdrawalPage{Withdrawals: []affiliate.Withdrawal{}}, nil
	}
	var n newest
	n.eq("promoter_id", f.PromoterID)
	n.eq("state", string(f.State))
	if err := n.after("affiliate_withdrawals", f.Cursor); err != nil {
		return affiliate.WithdrawalPage{}, affiliate.ErrBadCursor
	}
	q, args := n.query(withdrawalColumns, "affiliate_withdrawals", f.Limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return affiliate.WithdrawalPage{}, errs.Wrap(err, "affiliate: withdrawals")
	}
	ws, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (affiliate.Withdrawal, error) {
		w, err := scanWithdrawal(r)
		if err != nil {
			return affiliate.Withdrawal{}, err
		}
		return *w, nil
	})
	if err != nil {
		return affiliate.WithdrawalPage{}, errs.Wrap(err, "affiliate: withdrawals")
	}
	ws, next := cursor.Page("affiliate_withdrawals", ws, f.Limit, func(w *affiliate.Withdrawal) (int64, string) {
		return w.CreatedAt.UnixMicro(), w.ID
	})
	if ws == nil {
		ws = []affiliate.Withdrawal{}
	}
	return affiliate.WithdrawalPage{Withdrawals: ws, NextCursor: next}, nil
}

func (s *Store) UpdateWithdrawal(ctx context.Context, id string, fn func(w *affiliate.Withdrawal) (affiliate.Change, error)) (*affiliate.Withdrawal, error) {
	if !ids.Valid(id) {
		return nil, affiliate.ErrWithdrawalNotFound
	}
	var out *affiliate.Withdrawal
	err := s.tx(ctx, func(tx pgx.Tx) error {
		w, err := scanWithdrawal(tx.QueryRow(ctx, `SELECT `+withdrawalColumns+` FROM affiliate_withdrawals WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return affiliate.ErrWithdrawalNotFound
		}
		if err != nil {
			return err
		}
		out = w
		c, err := fn(w)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE affiliate_withdrawals SET state = $1, bill_no = $2, failure = $3,
			package_info = $4, decided_by = $5, note = $6, updated_at = $7, finished_at = $8 WHERE id = $9`,
			string(w.State), w.BillNo, w.Failure, w.PackageInfo, w.DecidedBy, w.Note, w.UpdatedAt, w.FinishedAt, id); err != nil {
			return err
		}
		return writeAffiliateChange(ctx, tx, c)
	})
	if errors.Is(err, affiliate.ErrNoop) {
		err = nil
	}
	if err != nil {
		return nil, errs.Wrap(err, "affiliate: update withdrawal")
	}
	return out, nil
}
