package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/coupon"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

const (
	couponTemplateColumns = `id, name, kind, off, rate_bp, cap, min_spend, scope, scope_ids, valid_from, valid_until,
	valid_days, per_buyer, quantity, issued, budget, spent, issue_mode, status, created_at, updated_at, ended_at`
	couponColumns = `id, template_id, buyer_id, state, valid_from, valid_until, order_id, saved, created_at, used_at`
)

const (
	couponTemplateCursorOrder = "coupon_templates_newest"
	couponCursorOrder         = "coupons_newest"
)

var errBuyerNotFound = errs.E(errs.NotFound, "buyer_not_found", "no such buyer")

func (s *Store) CreateCouponTemplate(ctx context.Context, t *coupon.Template) error {
	scope, err := json.Marshal(t.ScopeIDs)
	if err != nil {
		return errs.Wrap(err, "coupon: create template %s", t.ID)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO coupon_templates (`+couponTemplateColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, t.Kind, t.Off, t.Rate, t.Cap, t.MinSpend, t.Scope, string(scope), tsPtr(t.ValidFrom),
		tsPtr(t.ValidUntil), t.ValidDays, t.PerBuyer, t.Quantity, t.Issued, t.Budget, t.Spent, t.Mode, t.Status,
		ts(t.CreatedAt), ts(t.UpdatedAt), tsPtr(t.EndedAt))
	return errs.Wrap(err, "coupon: create template %s", t.ID)
}

func (s *Store) CouponTemplate(ctx context.Context, id string) (*coupon.Template, error) {
	return couponTemplate(ctx, s.r, id)
}

func couponTemplate(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (*coupon.Template, error) {
	if !ids.Valid(id) {
		return nil, coupon.ErrTemplateNotFound
	}
	t, err := scanCouponTemplate(q.QueryRowContext(ctx, `SELECT `+couponTemplateColumns+` FROM coupon_templates WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, coupon.ErrTemplateNotFound
	}
	return t, errs.Wrap(err, "coupon: read template %s", id)
}

func (s *Store) CouponTemplates(ctx context.Context, f coupon.TemplateFilter) (coupon.TemplatePage, error) {
	limit := min(max(f.Limit, 1), coupon.MaxLimit)
	var n newest
	n.eq("status", string(f.Status))
	n.eq("issue_mode", string(f.Mode))
	if f.Claimable {
		n.where = append(n.where, "status = 'active'", "issue_mode IN ('claim', 'new_user')", "issued < quantity",
			"(budget = 0 OR spent < budget)", "(valid_until IS NULL OR valid_until > ?)")
		n.args = append(n.args, ts(f.Now))
	}
	if err := n.after(couponTemplateCursorOrder, f.Cursor); err != nil {
		return coupon.TemplatePage{}, coupon.ErrBadCursor
	}
	q, args := n.query(couponTemplateColumns, "coupon_templates", limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return coupon.TemplatePage{}, errs.Wrap(err, "coupon: list templates")
	}
	defer rows.Close()
	var list []coupon.Template
	for rows.Next() {
		t, err := scanCouponTemplate(rows)
		if err != nil {
			return coupon.TemplatePage{}, errs.Wrap(err, "coupon: list templates")
		}
		list = append(list, *t)
	}
	if err := rows.Err(); err != nil {
		return coupon.TemplatePage{}, errs.Wrap(err, "coupon: list templates")
	}
	page := coupon.TemplatePage{Templates: []coupon.Template{}}
	if len(list) > 0 {
		page.Templates, page.NextCursor = cursor.Page(couponTemplateCursorOrder, list, limit, func(t *coupon.Template) (int64, string) {
			return t.CreatedAt.UnixMicro(), t.ID
		})
	}
	return page, nil
}

func (s *Store) EndCouponTemplate(ctx context.Context, id string, at time.Time) (*coupon.Template, error) {
	if !ids.Valid(id) {
		return nil, coupon.ErrTemplateNotFound
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE coupon_templates SET status = 'ended', ended_at = ?, updated_at = ?
		WHERE id = ? AND status = 'active'`, ts(at), ts(at), id); err != nil {
		return nil, errs.Wrap(err, "coupon: end template %s", id)
	}
	return couponTemplate(ctx, s.w, id)
}

// ClaimCoupon counts the claim on the template, checks and counts the
// buyer and inserts the coupon in one immediate transaction: the single
// writer serialises claims, and each conditional update sees the last.
func (s *Store) ClaimCoupon(ctx context.Context, c *coupon.Coupon, in coupon.ClaimInput) error {
	if !ids.Valid(in.TemplateID) {
		return coupon.ErrTemplateNotFound
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := ts(in.Now)
		if in.Key != "" {
			var issued bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM coupons WHERE issue_key = ?)`, in.Key).Scan(&issued); err != nil {
				return err
			} else if issued {
				return coupon.ErrIssued
			}
		}
		if ok, err := affected(tx.ExecContext(ctx, `UPDATE coupon_templates SET issued = issued + 1, updated_at = ?
			WHERE id = ? AND status = 'active' AND issued < quantity AND (budget = 0 OR spent < budget)
				AND (valid_until IS NULL OR valid_until > ?)`, now, in.TemplateID, now)); err != nil || !ok {
			if err != nil {
				return err
			}
			return templateRefusal(ctx, tx, in)
		}
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM buyers WHERE id = ?)`, in.BuyerID).Scan(&exists); err != nil {
			return err
		} else if !exists {
			return errBuyerNotFound
		}
		if in.NewUserOnly {
			var paid bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM orders WHERE buyer_id = ? AND paid_at IS NOT NULL)`,
				in.BuyerID).Scan(&paid); err != nil {
				return err
			} else if paid {
				return coupon.ErrNotNewUser
			}
		}
		if ok, err := affected(tx.ExecContext(ctx, `INSERT INTO coupon_holders (template_id, buyer_id, claimed) VALUES (?, ?, 1)
			ON CONFLICT (template_id, buyer_id) DO UPDATE SET claimed = claimed + 1 WHERE claimed < ?`,
			in.TemplateID, in.BuyerID, in.PerBuyer)); err != nil || !ok {
			if err != nil {
				return err
			}
			return coupon.ErrLimitReached
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO coupons (`+couponColumns+`, issue_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.TemplateID, c.BuyerID, c.State, ts(c.ValidFrom), ts(c.ValidUntil), nil, c.Saved, ts(c.ClaimedAt), tsPtr(c.UsedAt),
			nullText(in.Key))
		return err
	})
	return couponError(err, "claim %s", in.TemplateID)
}

// affected reports whether an update changed a row.
func affected(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// templateRefusal names why a template's count refused a claim.
func templateRefusal(ctx context.Context, tx *sql.Tx, in coupon.ClaimInput) error {
	t, err := couponTemplate(ctx, tx, in.TemplateID)
	switch {
	case err != nil:
		return err
	case t.Status != coupon.Active:
		return coupon.ErrTemplateEnded
	case t.ValidUntil != nil && !in.Now.Before(*t.ValidUntil):
		return coupon.ErrClaimOver
	}
	return coupon.ErrSoldOut
}

func couponError(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if _, ok := errs.As(err); ok {
		return err
	}
	return errs.Wrap(err, "coupon: "+format, args...)
}

func (s *Store) CouponsByID(ctx context.Context, couponIDs []string) ([]coupon.Coupon, error) {
	valid := slices.DeleteFunc(slices.Clone(couponIDs), func(id string) bool { return !ids.Valid(id) })
	if len(valid) == 0 {
		return []coupon.Coupon{}, nil
	}
	args := make([]any, len(valid))
	for i, id := range valid {
		args[i] = id
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+couponColumns+` FROM coupons WHERE id IN (?`+
		strings.Repeat(", ?", len(valid)-1)+`) ORDER BY id`, args...)
	if err != nil {
		return nil, errs.Wrap(err, "coupon: read coupons")
	}
	cs, err := s.collectCoupons(ctx, rows)
	return cs, errs.Wrap(err, "coupon: read coupons")
}

func (s *Store) Coupons(ctx context.Context, f coupon.CouponFilter) (coupon.CouponPage, error) {
	limit := min(max(f.Limit, 1), coupon.MaxLimit)
	if !ids.Valid(f.BuyerID) {
		return coupon.CouponPage{Coupons: []coupon.Coupon{}}, nil
	}
	var n newest
	n.eq("buyer_id", f.BuyerID)
	switch f.State {
	case coupon.Available:
		n.where, n.args = append(n.where, "state = 'available'", "valid_until > ?"), append(n.args, ts(f.Now))
	case coupon.Expired:
		n.where, n.args = append(n.where, "state = 'available'", "valid_until <= ?"), append(n.args, ts(f.Now))
	case coupon.Used:
		n.where = append(n.where, "state = 'used'")
	}
	if err := n.after(couponCursorOrder, f.Cursor); err != nil {
		return coupon.CouponPage{}, coupon.ErrBadCursor
	}
	q, args := n.query(couponColumns, "coupons", limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return coupon.CouponPage{}, errs.Wrap(err, "coupon: list")
	}
	list, err := s.collectCoupons(ctx, rows)
	if err != nil {
		return coupon.CouponPage{}, errs.Wrap(err, "coupon: list")
	}
	page := coupon.CouponPage{Coupons: []coupon.Coupon{}}
	if len(list) > 0 {
		page.Coupons, page.NextCursor = cursor.Page(couponCursorOrder, list, limit, func(c *coupon.Coupon) (int64, string) {
			return c.ClaimedAt.UnixMicro(), c.ID
		})
	}
	return page, nil
}

// collectCoupons reads coupon rows (closing them), then their templates' terms.
func (s *Store) collectCoupons(ctx context.Context, rows *sql.Rows) ([]coupon.Coupon, error) {
	var cs []coupon.Coupon
	for rows.Next() {
		var (
			c                    coupon.Coupon
			orderID              sql.NullString
			from, until, claimed int64
			used                 sql.NullInt64
		)
		if err := rows.Scan(&c.ID, &c.TemplateID, &c.BuyerID, &c.State, &from, &until, &orderID, &c.Saved, &claimed, &used); err != nil {
			rows.Close()
			return nil, err
		}
		c.OrderID = orderID.String
		c.ValidFrom, c.ValidUntil, c.ClaimedAt, c.UsedAt = fromTS(from), fromTS(until), fromTS(claimed), fromTSPtr(used)
		cs = append(cs, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	terms := map[string]coupon.Terms{}
	for i := range cs {
		t, ok := terms[cs[i].TemplateID]
		if !ok {
			tpl, err := s.CouponTemplate(ctx, cs[i].TemplateID)
			if err != nil {
				return nil, err
			}
			t = tpl.Terms
			terms[cs[i].TemplateID] = t
		}
		cs[i].Terms = t
	}
	if cs == nil {
		cs = []coupon.Coupon{}
	}
	return cs, nil
}

// UseCoupons marks the coupons used, creates the order and spends the
// budgets in one immediate transaction; any refusal rolls it all back.
func (s *Store) UseCoupons(ctx context.Context, d *order.Draft, at time.Time) error {
	o := d.Order
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, u := range d.Coupons {
			ok, err := affected(tx.ExecContext(ctx, `UPDATE coupons SET state = 'used', order_id = ?, saved = ?, used_at = ?
				WHERE id = ? AND buyer_id = ? AND state = 'available' AND valid_from <= ? AND valid_until > ?`,
				o.ID, u.Saved, ts(at), u.ID, o.BuyerID, ts(at), ts(at)))
			if err != nil {
				return err
			}
			if !ok {
				return coupon.ErrUnavailable
			}
			ok, err = affected(tx.ExecContext(ctx, `UPDATE coupon_templates SET spent = spent + ?
				WHERE id = (SELECT template_id FROM coupons WHERE id = ?) AND (budget = 0 OR spent + ? <= budget)`,
				u.Saved, u.ID, u.Saved))
			if err != nil {
				return err
			}
			if !ok {
				return coupon.ErrBudgetExhausted
			}
		}
		return s.createOrder(ctx, tx, o, d.Events, d.Jobs)
	})
	return couponError(err, "use coupons for order %s", o.ID)
}

// RestoreCoupons puts the order's used coupons back and their savings back
// in their budgets, once: the coupons' state is the guard.
func (s *Store) RestoreCoupons(ctx context.Context, orderID string) (int, error) {
	if !ids.Valid(orderID) {
		return 0, nil
	}
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, template_id, saved FROM coupons WHERE order_id = ? AND state = 'used'`, orderID)
		if err != nil {
			return err
		}
		type back struct {
			id, template string
			saved        int64
		}
		var bs []back
		for rows.Next() {
			var b back
			if err := rows.Scan(&b.id, &b.template, &b.saved); err != nil {
				rows.Close()
				return err
			}
			bs = append(bs, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, b := range bs {
			if _, err := tx.ExecContext(ctx, `UPDATE coupons SET state = 'available', order_id = NULL, saved = 0, used_at = NULL
				WHERE id = ?`, b.id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE coupon_templates SET spent = spent - ? WHERE id = ?`, b.saved, b.template); err != nil {
				return err
			}
		}
		n = len(bs)
		return nil
	})
	return n, errs.Wrap(err, "coupon: restore for order %s", orderID)
}

func scanCouponTemplate(row interface{ Scan(...any) error }) (*coupon.Template, error) {
	var (
		t                  coupon.Template
		scope              string
		from, until, ended sql.NullInt64
		created, updated   int64
	)
	if err := row.Scan(&t.ID, &t.Name, &t.Kind, &t.Off, &t.Rate, &t.Cap, &t.MinSpend, &t.Scope, &scope, &from,
		&until, &t.ValidDays, &t.PerBuyer, &t.Quantity, &t.Issued, &t.Budget, &t.Spent, &t.Mode, &t.Status,
		&created, &updated, &ended); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scope), &t.ScopeIDs); err != nil {
		return nil, err
	}
	t.ValidFrom, t.ValidUntil, t.EndedAt = fromTSPtr(from), fromTSPtr(until), fromTSPtr(ended)
	t.CreatedAt, t.UpdatedAt = fromTS(created), fromTS(updated)
	return &t, nil
}
