package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/siyu-commerce/siyu/internal/coupon"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
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

// couponRefusedCode is the SQLSTATE siyu_coupon_require raises (migration
// 0017), with the refusal's reason as its detail.
const couponRefusedCode = "SY004"

var couponRefusals = map[string]error{
	"issued":           coupon.ErrIssued,
	"limit_reached":    coupon.ErrLimitReached,
	"not_new_user":     coupon.ErrNotNewUser,
	"buyer_not_found":  errs.E(errs.NotFound, "buyer_not_found", "no such buyer"),
	"unavailable":      coupon.ErrUnavailable,
	"budget_exhausted": coupon.ErrBudgetExhausted,
}

func (s *Store) CreateCouponTemplate(ctx context.Context, t *coupon.Template) error {
	scope, err := json.Marshal(t.ScopeIDs)
	if err != nil {
		return errs.Wrap(err, "coupon: create template %s", t.ID)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO coupon_templates (`+couponTemplateColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
		t.ID, t.Name, t.Kind, t.Off, t.Rate, t.Cap, t.MinSpend, t.Scope, string(scope), t.ValidFrom, t.ValidUntil,
		t.ValidDays, t.PerBuyer, t.Quantity, t.Issued, t.Budget, t.Spent, t.Mode, t.Status, t.CreatedAt, t.UpdatedAt, t.EndedAt)
	return errs.Wrap(err, "coupon: create template %s", t.ID)
}

func (s *Store) CouponTemplate(ctx context.Context, id string) (*coupon.Template, error) {
	if !ids.Valid(id) {
		return nil, coupon.ErrTemplateNotFound
	}
	t, err := scanCouponTemplate(s.pool.QueryRow(ctx, `SELECT `+couponTemplateColumns+` FROM coupon_templates WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
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
			"(budget = 0 OR spent < budget)", "(valid_until IS NULL OR valid_until > "+n.arg(f.Now)+")")
	}
	if err := n.after(couponTemplateCursorOrder, f.Cursor); err != nil {
		return coupon.TemplatePage{}, coupon.ErrBadCursor
	}
	q, args := n.query(couponTemplateColumns, "coupon_templates", limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return coupon.TemplatePage{}, errs.Wrap(err, "coupon: list templates")
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (coupon.Template, error) {
		t, err := scanCouponTemplate(row)
		if err != nil {
			return coupon.Template{}, err
		}
		return *t, nil
	})
	if err != nil {
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
	if _, err := s.pool.Exec(ctx, `UPDATE coupon_templates SET status = 'ended', ended_at = $2, updated_at = $2
		WHERE id = $1 AND status = 'active'`, id, at); err != nil {
		return nil, errs.Wrap(err, "coupon: end template %s", id)
	}
	return s.CouponTemplate(ctx, id)
}

// ClaimCoupon sends the template's count, the buyer's checks and count and
// the coupon from BEGIN to COMMIT in one batch. The template's row is
// updated first: concurrent claims queue on it, so the buyer's count is
// read by each in turn.
func (s *Store) ClaimCoupon(ctx context.Context, c *coupon.Coupon, in coupon.ClaimInput) error {
	if !ids.Valid(in.TemplateID) {
		return coupon.ErrTemplateNotFound
	}
	b := &pgx.Batch{}
	b.Queue(`WITH c AS (
			UPDATE coupon_templates SET issued = issued + 1, updated_at = $2
			WHERE id = $1 AND status = 'active' AND issued < quantity AND (budget = 0 OR spent < budget)
				AND (valid_until IS NULL OR valid_until > $2)
			RETURNING 1)
		SELECT siyu_coupon_require(count(*) = 1, 'template') FROM c`, in.TemplateID, in.Now)
	if in.Key != "" {
		// After the template's row: a concurrent issue with the key
		// waited on it, and this statement sees its coupon.
		b.Queue(`SELECT siyu_coupon_require(NOT EXISTS (SELECT 1 FROM coupons WHERE issue_key = $1), 'issued')`, in.Key)
	}
	b.Queue(`SELECT siyu_coupon_require(EXISTS (SELECT 1 FROM buyers WHERE id = $1), 'buyer_not_found')`, in.BuyerID)
	if in.NewUserOnly {
		b.Queue(`SELECT siyu_coupon_require(NOT EXISTS (SELECT 1 FROM orders WHERE buyer_id = $1 AND paid_at IS NOT NULL),
			'not_new_user')`, in.BuyerID)
	}
	b.Queue(`WITH c AS (
			INSERT INTO coupon_holders (template_id, buyer_id, claimed) VALUES ($1, $2, 1)
			ON CONFLICT (template_id, buyer_id) DO UPDATE SET claimed = coupon_holders.claimed + 1
			WHERE coupon_holders.claimed < $3
			RETURNING 1)
		SELECT siyu_coupon_require(count(*) = 1, 'limit_reached') FROM c`, in.TemplateID, in.BuyerID, in.PerBuyer)
	b.Queue(`INSERT INTO coupons (`+couponColumns+`, issue_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.ID, c.TemplateID, c.BuyerID, c.State, c.ValidFrom, c.ValidUntil, nil, c.Saved, c.ClaimedAt, c.UsedAt, nullText(in.Key))
	err := s.sendCommitted(ctx, b)
	if couponRefusal(err) == "template" {
		return s.templateRefusal(ctx, in)
	}
	return couponError(err, "claim %s", in.TemplateID)
}

// templateRefusal names why a template's count refused a claim.
func (s *Store) templateRefusal(ctx context.Context, in coupon.ClaimInput) error {
	t, err := s.CouponTemplate(ctx, in.TemplateID)
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

func couponRefusal(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == couponRefusedCode {
		return pe.Detail
	}
	return ""
}

func couponError(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if sku, short := stockShort(err); short {
		return inventory.OutOfStock(sku)
	}
	if e := couponRefusals[couponRefusal(err)]; e != nil {
		return e
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
	rows, err := s.pool.Query(ctx, `SELECT `+couponColumns+` FROM coupons WHERE id = ANY($1) ORDER BY id`, valid)
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
		n.where = append(n.where, "state = 'available'", "valid_until > "+n.arg(f.Now))
	case coupon.Expired:
		n.where = append(n.where, "state = 'available'", "valid_until <= "+n.arg(f.Now))
	case coupon.Used:
		n.where = append(n.where, "state = 'used'")
	}
	if err := n.after(couponCursorOrder, f.Cursor); err != nil {
		return coupon.CouponPage{}, coupon.ErrBadCursor
	}
	q, args := n.query(couponColumns, "coupons", limit)
	rows, err := s.pool.Query(ctx, q, args...)
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

// collectCoupons reads coupon rows, then their templates' terms.
func (s *Store) collectCoupons(ctx context.Context, rows pgx.Rows) ([]coupon.Coupon, error) {
	cs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (coupon.Coupon, error) {
		var (
			c       coupon.Coupon
			orderID *string
		)
		if err := row.Scan(&c.ID, &c.TemplateID, &c.BuyerID, &c.State, &c.ValidFrom, &c.ValidUntil, &orderID,
			&c.Saved, &c.ClaimedAt, &c.UsedAt); err != nil {
			return c, err
		}
		if orderID != nil {
			c.OrderID = *orderID
		}
		c.ValidFrom, c.ValidUntil, c.ClaimedAt = c.ValidFrom.UTC(), c.ValidUntil.UTC(), c.ClaimedAt.UTC()
		utc(c.UsedAt)
		return c, nil
	})
	if err != nil || len(cs) == 0 {
		return []coupon.Coupon{}, err
	}
	var tids []string
	for _, c := range cs {
		if !slices.Contains(tids, c.TemplateID) {
			tids = append(tids, c.TemplateID)
		}
	}
	trows, err := s.pool.Query(ctx, `SELECT `+couponTemplateColumns+` FROM coupon_templates WHERE id = ANY($1)`, tids)
	if err != nil {
		return nil, err
	}
	ts, err := pgx.CollectRows(trows, func(row pgx.CollectableRow) (*coupon.Template, error) { return scanCouponTemplate(row) })
	if err != nil {
		return nil, err
	}
	for i := range cs {
		for _, t := range ts {
			if t.ID == cs[i].TemplateID {
				cs[i].Terms = t.Terms
			}
		}
	}
	return cs, nil
}

// UseCoupons sends the coupons' conditional updates, the order (its stock
// last of the order's statements) and the budgets' conditional updates,
// BEGIN to COMMIT, in one batch. Budgets go last: every use of a popular
// template queues on its row.
func (s *Store) UseCoupons(ctx context.Context, d *order.Draft, at time.Time) error {
	o := d.Order
	uses := slices.Clone(d.Coupons)
	slices.SortFunc(uses, func(a, b order.CouponUse) int { return compareStrings(a.ID, b.ID) })
	b := &pgx.Batch{}
	for _, u := range uses {
		b.Queue(`WITH c AS (
				UPDATE coupons SET state = 'used', order_id = $2, saved = $3, used_at = $4
				WHERE id = $1 AND buyer_id = $5 AND state = 'available' AND valid_from <= $4 AND valid_until > $4
				RETURNING 1)
			SELECT siyu_coupon_require(count(*) = 1, 'unavailable') FROM c`, u.ID, o.ID, u.Saved, at, o.BuyerID)
	}
	if err := s.queueCreateOrder(b, o, d.Events, d.Jobs); err != nil {
		return err
	}
	for _, u := range uses {
		b.Queue(`WITH c AS (
				UPDATE coupon_templates t SET spent = spent + $2
				FROM coupons c0 WHERE c0.id = $1 AND t.id = c0.template_id AND (t.budget = 0 OR t.spent + $2 <= t.budget)
				RETURNING 1)
			SELECT siyu_coupon_require(count(*) = 1, 'budget_exhausted') FROM c`, u.ID, u.Saved)
	}
	return couponError(s.sendCommitted(ctx, b), "use coupons for order %s", o.ID)
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// RestoreCoupons puts the order's used coupons back and their savings back
// in their budgets, in one statement: a coupon moves back only once.
func (s *Store) RestoreCoupons(ctx context.Context, orderID string) (int, error) {
	if !ids.Valid(orderID) {
		return 0, nil
	}
	var n int
	err := s.pool.QueryRow(ctx, `WITH old AS (
			SELECT id, template_id, saved FROM coupons WHERE order_id = $1 AND state = 'used' FOR UPDATE),
		back AS (
			UPDATE coupons c SET state = 'available', order_id = NULL, saved = 0, used_at = NULL
			FROM old WHERE c.id = old.id
			RETURNING old.template_id, old.saved),
		given AS (
			UPDATE coupon_templates t SET spent = t.spent - g.saved
			FROM (SELECT template_id, sum(saved) AS saved FROM back GROUP BY template_id) g
			WHERE t.id = g.template_id
			RETURNING 1)
		SELECT count(*) FROM back`, orderID).Scan(&n)
	return n, errs.Wrap(err, "coupon: restore for order %s", orderID)
}

func scanCouponTemplate(row pgx.Row) (*coupon.Template, error) {
	var (
		t     coupon.Template
		scope string
	)
	if err := row.Scan(&t.ID, &t.Name, &t.Kind, &t.Off, &t.Rate, &t.Cap, &t.MinSpend, &t.Scope, &scope, &t.ValidFrom,
		&t.ValidUntil, &t.ValidDays, &t.PerBuyer, &t.Quantity, &t.Issued, &t.Budget, &t.Spent, &t.Mode, &t.Status,
		&t.CreatedAt, &t.UpdatedAt, &t.EndedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scope), &t.ScopeIDs); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	utc(t.ValidFrom, t.ValidUntil, t.EndedAt)
	return &t, nil
}
