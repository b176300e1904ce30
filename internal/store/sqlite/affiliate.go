package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
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

func (s *Store) RecordSale(ctx context.Context, sale *affiliate.Sale, cs []affiliate.Commission, c affiliate.Change) (bool, error) {
	recorded := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO affiliate_sales (order_id, buyer_id, self_buy, paid, paid_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING`,
			sale.OrderID, sale.BuyerID, sale.SelfBuy, sale.Paid, ts(sale.PaidAt))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		recorded = true
		for _, x := range cs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO affiliate_commissions
				(id, order_id, line_id, buyer_id, promoter_id, tier, product_id, sku_id, base, rate, amount, state, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, x.ID, x.OrderID, x.LineID, x.BuyerID, x.PromoterID, x.Tier,
				x.ProductID, x.SKUID, x.Base, x.Rate, x.Amount, string(x.State), ts(x.CreatedAt)); err != nil {
				return err
			}
		}
		return writeAffiliateChange(ctx, tx, c)
	})
	return recorded, errs.Wrap(err, "affiliate: record sale")
}

// writeAffiliateChange writes the ledger side of a change: settlements
// before new transfers, then jobs.
func writeAffiliateChange(ctx context.Context, tx *sql.Tx, c affiliate.Change) error {
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
	return insertJobs(ctx, tx, c.Jobs)
}

func scanSale(row interface{ Scan(...any) error }) (*affiliate.Sale, error) {
	var x affiliate.Sale
	var paid int64
	var after, settled sql.NullInt64
	if err := row.Scan(&x.OrderID, &x.BuyerID, &x.SelfBuy, &x.Paid, &paid, &after, &settled); err != nil {
		return nil, err
	}
	x.PaidAt, x.SettleAfter, x.SettledAt = fromTS(paid), fromTSPtr(after), fromTSPtr(settled)
	return &x, nil
}

const saleColumns = `order_id, buyer_id, self_buy, paid, paid_at, settle_after, settled_at`

func saleOf(ctx context.Context, q querier, orderID string) (*affiliate.Sale, error) {
	x, err := scanSale(q.QueryRowContext(ctx, `SELECT `+saleColumns+` FROM affiliate_sales WHERE order_id = ?`, orderID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, affiliate.ErrNoSale
	}
	return x, err
}

func (s *Store) Sale(ctx context.Context, orderID string) (*affiliate.Sale, error) {
	x, err := saleOf(ctx, s.r, orderID)
	if err != nil && !errors.Is(err, affiliate.ErrNoSale) {
		return nil, errs.Wrap(err, "affiliate: sale")
	}
	return x, err
}

func (s *Store) ScheduleSettlement(ctx context.Context, orderID string, at time.Time) (bool, error) {
	done := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE affiliate_sales SET settle_after = ?
			WHERE order_id = ? AND settle_after IS NULL`, ts(at), orderID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		done = n == 1
		return err
	})
	return done, errs.Wrap(err, "affiliate: schedule settlement")
}

const commissionColumns = `id, order_id, line_id, buyer_id, promoter_id, tier, product_id, sku_id, base, rate, amount,
	refunded, reversed, settled, clawed_back, state, created_at, settled_at`

func scanCommissions(rows *sql.Rows) ([]affiliate.Commission, error) {
	defer rows.Close()
	var out []affiliate.Commission
	for rows.Next() {
		var c affiliate.Commission
		var created int64
		var settled sql.NullInt64
		if err := rows.Scan(&c.ID, &c.OrderID, &c.LineID, &c.BuyerID, &c.PromoterID, &c.Tier, &c.ProductID, &c.SKUID,
			&c.Base, &c.Rate, &c.Amount, &c.Refunded, &c.Reversed, &c.Settled, &c.ClawedBack, &c.State,
			&created, &settled); err != nil {
			return nil, err
		}
		c.CreatedAt, c.SettledAt = fromTS(created), fromTSPtr(settled)
		out = append(out, c)
	}
	return out, rows.Err()
}

func orderCommissions(ctx context.Context, q querier, orderID string) ([]affiliate.Commission, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+commissionColumns+` FROM affiliate_commissions
		WHERE order_id = ? ORDER BY line_id, tier`, orderID)
	if err != nil {
		return nil, err
	}
	return scanCommissions(rows)
}

func updateCommissions(ctx context.Context, tx *sql.Tx, cs []affiliate.Commission) error {
	for _, c := range cs {
		if _, err := tx.ExecContext(ctx, `UPDATE affiliate_commissions SET refunded = ?, reversed = ?, settled = ?,
			clawed_back = ?, state = ?, settled_at = ? WHERE id = ?`, c.Refunded, c.Reversed, c.Settled, c.ClawedBack,
			string(c.State), tsPtr(c.SettledAt), c.ID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) ApplyRefund(ctx context.Context, refundID, orderID string,
	fn func(s *affiliate.Sale, cs []affiliate.Commission) ([]affiliate.Commission, affiliate.Change, error)) (bool, error) {
	applied := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		sale, err := saleOf(ctx, tx, orderID)
		if errors.Is(err, affiliate.ErrNoSale) {
			return nil
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO affiliate_refunds (refund_id, order_id, at) VALUES (?, ?, ?)
			ON CONFLICT (refund_id) DO NOTHING`, refundID, orderID, ts(time.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		cs, err := orderCommissions(ctx, tx, orderID)
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

// dueWhere selects the sales due at ? whose order has no open after-sale
// and no unfinished refund.
const dueWhere = `settled_at IS NULL AND settle_after <= ?
	AND NOT EXISTS (SELECT 1 FROM aftersales a WHERE a.order_id = affiliate_sales.order_id
		AND a.state IN ('requested', 'approved', 'refunding'))
	AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = affiliate_sales.order_id
		AND r.state IN ('pending', 'processing', 'abnormal'))`

func (s *Store) SettleDue(ctx context.Context, now time.Time,
	limit int, fn func(sales []*affiliate.Sale, cs []affiliate.Commission) ([]affiliate.Commission, affiliate.Change, error)) (int, error) {
	settled := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+saleColumns+` FROM affiliate_sales WHERE `+dueWhere+`
			ORDER BY settle_after, order_id LIMIT ?`, ts(now), limit)
		if err != nil {
			return err
		}
		var sales []*affiliate.Sale
		for rows.Next() {
			x, err := scanSale(rows)
			if err != nil {
				rows.Close()
				return err
			}
			sales = append(sales, x)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(sales) == 0 {
			return nil
		}
		var cs []affiliate.Commission
		for _, x := range sales {
			some, err := orderCommissions(ctx, tx, x.OrderID)
			if err != nil {
				return err
			}
			cs = append(cs, some...)
			if _, err := tx.ExecContext(ctx, `UPDATE affiliate_sales SET settled_at = ? WHERE order_id = ?`,
				ts(now), x.OrderID); err != nil {
				return err
			}
		}
		changed, c, err := fn(sales, cs)
		if err != nil {
			return err
		}
		if err := updateCommissions(ctx, tx, changed); err != nil {
			return err
		}
		settled = len(sales)
		return writeAffiliateChange(ctx, tx, c)
	})
	if err != nil {
		return 0, errs.Wrap(err, "affiliate: settle")
	}
	return settled, nil
}

func (s *Store) DueSales(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM affiliate_sales WHERE settled_at IS NULL AND settle_after <= ?`,
		ts(now)).Scan(&n)
	return n, errs.Wrap(err, "affiliate: due sales")
}

func (s *Store) Commissions(ctx context.Context, f affiliate.CommissionFilter) (affiliate.CommissionPage, error) {
	f.Limit = affiliate.Limit(f.Limit)
	var n newest
	n.eq("promoter_id", f.PromoterID)
	n.eq("order_id", f.OrderID)
	if err := n.after("affiliate_commissions", f.Cursor); err != nil {
		return affiliate.CommissionPage{}, affiliate.ErrBadCursor
	}
	q, args := n.query(commissionColumns, "affiliate_commissions", f.Limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
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
// "1 = 1"): commissions by state, withdrawals by state.
const earningsSQL = `SELECT
	(SELECT coalesce(sum(amount - reversed - settled), 0) FROM affiliate_commissions WHERE state = 'pending' AND %[1]s),
	(SELECT coalesce(sum(settled), 0) FROM affiliate_commissions WHERE %[1]s),
	(SELECT coalesce(sum(clawed_back), 0) FROM affiliate_commissions WHERE %[1]s),
	(SELECT coalesce(sum(amount), 0) FROM affiliate_withdrawals WHERE state IN ('requested', 'approved', 'processing') AND %[1]s),
	(SELECT coalesce(sum(amount), 0) FROM affiliate_withdrawals WHERE state = 'succeeded' AND %[1]s)`

func earnings(ctx context.Context, q querier, promoterID string) (affiliate.Earnings, error) {
	var e affiliate.Earnings
	where, args := "1 = 1", []any{}
	if promoterID != "" {
		where, args = "promoter_id = ?", []any{promoterID, promoterID, promoterID, promoterID, promoterID}
	}
	err := q.QueryRowContext(ctx, fmt.Sprintf(earningsSQL, where), args...).
		Scan(&e.Pending, &e.Credited, &e.ClawedBack, &e.Withdrawing, &e.Withdrawn)
	e.Fill()
	return e, err
}

func (s *Store) Earnings(ctx context.Context, promoterID string) (affiliate.Earnings, error) {
	e, err := earnings(ctx, s.r, promoterID)
	return e, errs.Wrap(err, "affiliate: earnings")
}

func (s *Store) EarningsTotal(ctx context.Context) (affiliate.Earnings, error) {
	e, err := earnings(ctx, s.r, "")
	return e, errs.Wrap(err, "affiliate: earnings")
}

func (s *Store) PromoterStats(ctx context.Context) ([]affiliate.PromoterStats, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT p.id,
		(SELECT count(*) FROM affiliate_bindings b WHERE b.promoter_id = p.id),
		(SELECT count(DISTINCT order_id) FROM affiliate_commissions c WHERE c.promoter_id = p.id AND c.tier = 1),
		(SELECT count(DISTINCT order_id) FROM affiliate_commissions c WHERE c.promoter_id = p.id AND c.tier = 1 AND c.refunded > 0),
		(SELECT count(DISTINCT buyer_id) FROM affiliate_commissions c WHERE c.promoter_id = p.id AND c.tier = 1 AND c.refunded > 0),
		(SELECT count(*) FROM affiliate_sales x WHERE x.buyer_id = p.id AND x.self_buy),
		(SELECT count(*) FROM (SELECT 1 FROM affiliate_bindings b WHERE b.promoter_id = p.id AND b.device_id <> ''
			GROUP BY b.device_id HAVING count(*) >= ?) d),
		(SELECT coalesce(sum(amount - reversed - clawed_back), 0) FROM affiliate_commissions c WHERE c.promoter_id = p.id),
		(SELECT coalesce(sum(amount - reversed - settled), 0) FROM affiliate_commissions c WHERE c.promoter_id = p.id AND c.state = 'pending')
		FROM affiliate_promoters p WHERE p.status = 'approved' ORDER BY p.id`, affiliate.ClusterDownlines)
	if err != nil {
		return nil, errs.Wrap(err, "affiliate: promoter stats")
	}
	defer rows.Close()
	out := []affiliate.PromoterStats{}
	for rows.Next() {
		var x affiliate.PromoterStats
		if err := rows.Scan(&x.PromoterID, &x.Downlines, &x.Orders, &x.RefundedOrders, &x.RefundingBuyers,
			&x.SelfPurchases, &x.DeviceClusters, &x.Earned, &x.Pending); err != nil {
			return nil, errs.Wrap(err, "affiliate: promoter stats")
		}
		out = append(out, x)
	}
	return out, errs.Wrap(rows.Err(), "affiliate: promoter stats")
}

const withdrawalColumns = `id, promoter_id, amount, state, out_bill_no, bill_no, failure, package_info, decided_by, note,
	created_at, updated_at, finished_at`

func scanWithdrawal(row interface{ Scan(...any) error }) (*affiliate.Withdrawal, error) {
	var w affiliate.Withdrawal
	var created, updated int64
	var finished sql.NullInt64
	if err := row.Scan(&w.ID, &w.PromoterID, &w.Amount, &w.State, &w.OutBillNo, &w.BillNo, &w.Failure,
		&w.PackageInfo, &w.DecidedBy, &w.Note, &created, &updated, &finished); err != nil {
		return nil, err
	}
	w.CreatedAt, w.UpdatedAt, w.FinishedAt = fromTS(created), fromTS(updated), fromTSPtr(finished)
	return &w, nil
}

func withdrawalOf(ctx context.Context, q querier, id string) (*affiliate.Withdrawal, error) {
	w, err := scanWithdrawal(q.QueryRowContext(ctx, `SELECT `+withdrawalColumns+` FROM affiliate_withdrawals WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, affiliate.ErrWithdrawalNotFound
	}
	return w, err
}

func (s *Store) CreateWithdrawal(ctx context.Context, promoterID string, dayStart, dayEnd time.Time,
	plan func(p *affiliate.Promoter, e affiliate.Earnings, day affiliate.DayUse) (*affiliate.Withdrawal, affiliate.Change, error)) (*affiliate.Withdrawal, error) {
	var out *affiliate.Withdrawal
	err := s.tx(ctx, func(tx *sql.Tx) error {
		p, err := s.promoterWhere(ctx, tx, `id = ?`, promoterID)
		if err != nil {
			return err
		}
		e, err := earnings(ctx, tx, promoterID)
		if err != nil {
			return err
		}
		var day affiliate.DayUse
		if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(amount), 0) FROM affiliate_withdrawals
			WHERE promoter_id = ? AND state NOT IN ('failed', 'rejected') AND created_at >= ? AND created_at < ?`,
			promoterID, ts(dayStart), ts(dayEnd)).Scan(&day.Count, &day.Amount); err != nil {
			return err
		}
		w, c, err := plan(p, e, day)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO affiliate_withdrawals (`+withdrawalColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, w.ID, w.PromoterID, w.Amount, string(w.State), w.OutBillNo,
			w.BillNo, w.Failure, w.PackageInfo, w.DecidedBy, w.Note, ts(w.CreatedAt), ts(w.UpdatedAt), tsPtr(w.FinishedAt)); err != nil {
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
	w, err := withdrawalOf(ctx, s.r, id)
	if err != nil && !errors.Is(err, affiliate.ErrWithdrawalNotFound) {
		return nil, errs.Wrap(err, "affiliate: withdrawal")
	}
	return w, err
}

func (s *Store) Withdrawals(ctx context.Context, f affiliate.WithdrawalFilter) (affiliate.WithdrawalPage, error) {
	f.Limit = affiliate.Limit(f.Limit)
	var n newest
	n.eq("promoter_id", f.PromoterID)
	n.eq("state", string(f.State))
	if err := n.after("affiliate_withdrawals", f.Cursor); err != nil {
		return affiliate.WithdrawalPage{}, affiliate.ErrBadCursor
	}
	q, args := n.query(withdrawalColumns, "affiliate_withdrawals", f.Limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return affiliate.WithdrawalPage{}, errs.Wrap(err, "affiliate: withdrawals")
	}
	defer rows.Close()
	ws := []affiliate.Withdrawal{}
	for rows.Next() {
		w, err := scanWithdrawal(rows)
		if err != nil {
			return affiliate.WithdrawalPage{}, errs.Wrap(err, "affiliate: withdrawals")
		}
		ws = append(ws, *w)
	}
	if err := rows.Err(); err != nil {
		return affiliate.WithdrawalPage{}, errs.Wrap(err, "affiliate: withdrawals")
	}
	ws, next := cursor.Page("affiliate_withdrawals", ws, f.Limit, func(w *affiliate.Withdrawal) (int64, string) {
		return w.CreatedAt.UnixMicro(), w.ID
	})
	return affiliate.WithdrawalPage{Withdrawals: ws, NextCursor: next}, nil
}

func (s *Store) UpdateWithdrawal(ctx context.Context, id string, fn func(w *affiliate.Withdrawal) (affiliate.Change, error)) (*affiliate.Withdrawal, error) {
	var out *affiliate.Withdrawal
	err := s.tx(ctx, func(tx *sql.Tx) error {
		w, err := withdrawalOf(ctx, tx, id)
		if err != nil {
			return err
		}
		out = w
		c, err := fn(w)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE affiliate_withdrawals SET state = ?, bill_no = ?, failure = ?,
			package_info = ?, decided_by = ?, note = ?, updated_at = ?, finished_at = ? WHERE id = ?`,
			string(w.State), w.BillNo, w.Failure, w.PackageInfo, w.DecidedBy, w.Note, ts(w.UpdatedAt),
			tsPtr(w.FinishedAt), id); err != nil {
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
