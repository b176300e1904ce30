package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/crm"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func (s *Store) CRMRules(ctx context.Context) (crm.Rules, error) {
	var body []byte
	err := s.pool.QueryRow(ctx, `SELECT body FROM crm_rules WHERE id = 1`).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return crm.DefaultRules, nil
	}
	if err != nil {
		return crm.Rules{}, errs.Wrap(err, "crm: rules")
	}
	r := crm.DefaultRules
	return r, errs.Wrap(json.Unmarshal(body, &r), "crm: rules")
}

func (s *Store) SaveCRMRules(ctx context.Context, r crm.Rules) error {
	body, err := json.Marshal(r)
	if err != nil {
		return errs.Wrap(err, "crm: save rules")
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO crm_rules (id, body) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET body = excluded.body`, body)
	return errs.Wrap(err, "crm: save rules")
}

// crmProfilesSQL computes every profile's figures and layer from the
// records in one statement; {b}, {o}, {s}, {v} are where a one-buyer
// recompute narrows each source. The layer rules are tried in crm.Layers'
// order. A layer that changes keeps the old one in prev_layer until the
// move is written. A row whose figures did not change is not rewritten
// (computed_at is when they last changed): most buyers are quiet on most
// days, and an unchanged row costs no write.
const crmProfilesSQL = `
INSERT INTO crm_profiles AS p (buyer_id, layer, prev_layer, city, spent, orders, visit_days, last_order_at, registered_at, last_login_at, computed_at)
SELECT b.id,
	CASE WHEN coalesce(o.spent_loyal, 0) >= $7 THEN 'loyal'
	     WHEN coalesce(v.days, 0) >= $8 THEN 'active'
	     WHEN o.last_order_at IS NULL AND b.created_at > $2 THEN 'new'
	     WHEN b.last_login_at <= $4 THEN 'silent'
	     ELSE 'other' END,
	'', coalesce(a.city, ''), coalesce(o.spent, 0), coalesce(o.orders, 0), coalesce(v.days, 0), o.last_order_at,
	b.created_at, b.last_login_at, $1
FROM buyers b
LEFT JOIN addresses a ON a.buyer_id = b.id AND a.is_default
LEFT JOIN (
	SELECT o.buyer_id, max(o.paid_at) AS last_order_at,
		sum(CASE WHEN o.paid_at >= $6 THEN 1 ELSE 0 END) AS orders,
		sum(CASE WHEN o.paid_at >= $6 THEN o.total - coalesce(r.back, 0) ELSE 0 END) AS spent,
		sum(CASE WHEN o.paid_at >= $5 THEN o.total - coalesce(r.back, 0) ELSE 0 END) AS spent_loyal
	FROM orders o
	LEFT JOIN (SELECT order_id, sum(amount) AS back FROM refunds WHERE state = 'succeeded' GROUP BY order_id) r ON r.order_id = o.id
	WHERE o.paid_at IS NOT NULL AND o.paid_at <= $1 AND o.status <> 'refunded' {o}
	GROUP BY o.buyer_id) o ON o.buyer_id = b.id
LEFT JOIN (
	SELECT buyer_id, count(DISTINCT day) AS days FROM (
		SELECT subject_id AS buyer_id, floor(extract(epoch FROM created_at) / 86400) AS day
		FROM sessions WHERE kind = 'buyer' AND created_at > $3 AND created_at <= $1 {s}
		UNION ALL
		SELECT visitor_id, floor(extract(epoch FROM at) / 86400) FROM share_visits WHERE at > $3 AND at <= $1 {v}
	) x GROUP BY buyer_id) v ON v.buyer_id = b.id
WHERE b.created_at <= $1 {b}
ON CONFLICT (buyer_id) DO UPDATE SET layer = excluded.layer, prev_layer = p.layer, city = excluded.city,
	spent = excluded.spent, orders = excluded.orders, visit_days = excluded.visit_days, last_order_at = excluded.last_order_at,
	registered_at = excluded.registered_at, last_login_at = excluded.last_login_at, computed_at = excluded.computed_at
WHERE p.layer <> excluded.layer OR p.city <> excluded.city OR p.spent <> excluded.spent OR p.orders <> excluded.orders
	OR p.visit_days <> excluded.visit_days OR p.last_order_at IS DISTINCT FROM excluded.last_order_at
	OR p.last_login_at <> excluded.last_login_at OR p.registered_at <> excluded.registered_at`

// crmScoresSQL scores every buyer with an order in the window: a score is
// 1 + 5*(rank-1)/n with rank() (ties share the lowest rank, so equal
// values always share a score; crm.Quintile).
const crmScoresSQL = `
UPDATE crm_profiles AS p SET r = s.r, f = s.f, m = s.m FROM (
	SELECT buyer_id,
		1 + (rank() OVER (ORDER BY last_order_at) - 1) * 5 / count(*) OVER () AS r,
		1 + (rank() OVER (ORDER BY orders) - 1) * 5 / count(*) OVER () AS f,
		1 + (rank() OVER (ORDER BY spent) - 1) * 5 / count(*) OVER () AS m
	FROM crm_profiles WHERE orders > 0) s
WHERE p.buyer_id = s.buyer_id AND (p.r <> s.r OR p.f <> s.f OR p.m <> s.m)`

// crmScoreOneSQL scores one buyer against the stored profiles: rank-1 is
// the number of scored buyers with a lower value.
const crmScoreOneSQL = `
UPDATE crm_profiles AS p SET
	r = CASE WHEN p.orders = 0 THEN 0 ELSE 1 + (SELECT count(*) FROM crm_profiles q WHERE q.orders > 0 AND q.last_order_at < p.last_order_at) * 5 / (SELECT count(*) FROM crm_profiles q WHERE q.orders > 0) END,
	f = CASE WHEN p.orders = 0 THEN 0 ELSE 1 + (SELECT count(*) FROM crm_profiles q WHERE q.orders > 0 AND q.orders < p.orders) * 5 / (SELECT count(*) FROM crm_profiles q WHERE q.orders > 0) END,
	m = CASE WHEN p.orders = 0 THEN 0 ELSE 1 + (SELECT count(*) FROM crm_profiles q WHERE q.orders > 0 AND q.spent < p.spent) * 5 / (SELECT count(*) FROM crm_profiles q WHERE q.orders > 0) END
WHERE p.buyer_id = $1`

func (s *Store) RecomputeCRM(ctx context.Context, r crm.Rules, now time.Time, buyerID string) (int, error) {
	args := []any{now, now.AddDate(0, 0, -r.NewDays), now.AddDate(0, 0, -r.ActiveWindowDays), now.AddDate(0, 0, -r.SilentDays),
		now.AddDate(0, 0, -r.LoyalWindowDays), now.AddDate(0, 0, -r.RFMWindowDays), int64(r.LoyalSpent), r.ActiveVisits}
	one := buyerID != ""
	if one && !ids.Valid(buyerID) {
		return 0, nil
	}
	profiles, moves, done := crmNarrow(crmProfilesSQL, one, "$9"), crmMovesSQL, crmDoneSQL
	if one {
		args = append(args, buyerID)
		moves += ` AND buyer_id = $2`
		done += ` AND buyer_id = $1`
	}
	var n int
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, profiles, args...); err != nil {
			return err
		}
		margs := []any{now}
		if one {
			margs = append(margs, buyerID)
		}
		tag, err := tx.Exec(ctx, moves, margs...)
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		if one {
			if _, err := tx.Exec(ctx, done, buyerID); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, crmScoreOneSQL, buyerID)
			return err
		}
		if _, err := tx.Exec(ctx, done); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, crmScoresSQL); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE crm_profiles SET r = 0, f = 0, m = 0 WHERE orders = 0 AND (r <> 0 OR f <> 0 OR m <> 0)`)
		return err
	})
	return n, errs.Wrap(err, "crm: recompute")
}

const (
	crmMovesSQL = `INSERT INTO crm_layer_moves (buyer_id, from_layer, to_layer, at)
	SELECT buyer_id, prev_layer, layer, $1 FROM crm_profiles WHERE layer <> prev_layer`
	crmDoneSQL = `UPDATE crm_profiles SET prev_layer = layer WHERE layer <> prev_layer`
)

func (s *Store) CRMProfile(ctx context.Context, buyerID string) (*crm.Row, error) {
	if !ids.Valid(buyerID) {
		return nil, crm.ErrProfileNotFound
	}
	rows, err := s.crmRows(ctx, `WHERE buyer_id = $1`, buyerID)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, crm.ErrProfileNotFound
	}
	return &rows[0], nil
}

func (s *Store) CRMProfiles(ctx context.Context, after string, limit int) ([]crm.Row, error) {
	if after == "" {
		after = "00000000-0000-0000-0000-000000000000"
	}
	return s.crmRows(ctx, `WHERE buyer_id > $1 ORDER BY buyer_id LIMIT $2`, after, limit)
}

// crmRows reads profiles and then their tags in one more query.
func (s *Store) crmRows(ctx context.Context, where string, args ...any) ([]crm.Row, error) {
	rows, err := s.pool.Query(ctx, `SELECT buyer_id, layer, r, f, m, city, spent, orders, visit_days, last_order_at,
		registered_at, last_login_at FROM crm_profiles `+where, args...)
	if err != nil {
		return nil, errs.Wrap(err, "crm: profiles")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (crm.Row, error) {
		var p crm.Row
		var spent int64
		err := row.Scan(&p.BuyerID, &p.Layer, &p.RFM.R, &p.RFM.F, &p.RFM.M, &p.City, &spent, &p.Orders, &p.VisitDays,
			&p.LastOrderAt, &p.RegisteredAt, &p.LastLoginAt)
		p.Spent = money.Fen(spent)
		p.RegisteredAt, p.LastLoginAt = p.RegisteredAt.UTC(), p.LastLoginAt.UTC()
		if p.LastOrderAt != nil {
			t := p.LastOrderAt.UTC()
			p.LastOrderAt = &t
		}
		return p, err
	})
	if err != nil || len(out) == 0 {
		return out, errs.Wrap(err, "crm: profiles")
	}
	trows, err := s.pool.Query(ctx, `SELECT buyer_id, tag FROM crm_tags WHERE buyer_id BETWEEN $1 AND $2 ORDER BY buyer_id, tag`,
		out[0].BuyerID, out[len(out)-1].BuyerID)
	if err != nil {
		return nil, errs.Wrap(err, "crm: tags")
	}
	tags := map[string][]string{}
	var b, t string
	_, err = pgx.ForEachRow(trows, []any{&b, &t}, func() error { tags[b] = append(tags[b], t); return nil })
	for i := range out {
		out[i].Tags = tags[out[i].BuyerID]
	}
	return out, errs.Wrap(err, "crm: tags")
}

func (s *Store) CRMMoves(ctx context.Context, buyerID string) ([]crm.Move, error) {
	rows, err := s.pool.Query(ctx, `SELECT buyer_id, from_layer, to_layer, at FROM crm_layer_moves WHERE buyer_id = $1 ORDER BY seq`, buyerID)
	if err != nil {
		return nil, errs.Wrap(err, "crm: moves")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (crm.Move, error) {
		var m crm.Move
		err := row.Scan(&m.BuyerID, &m.From, &m.To, &m.At)
		m.At = m.At.UTC()
		return m, err
	})
	if out == nil {
		out = []crm.Move{}
	}
	return out, errs.Wrap(err, "crm: moves")
}

func (s *Store) CRMLayerCounts(ctx context.Context) (map[crm.Layer]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT layer, count(*) FROM crm_profiles GROUP BY layer`)
	if err != nil {
		return nil, errs.Wrap(err, "crm: layer counts")
	}
	out := map[crm.Layer]int{}
	var l string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&l, &n}, func() error { out[crm.Layer(l)] = n; return nil })
	return out, errs.Wrap(err, "crm: layer counts")
}

func (s *Store) CRMScoreCounts(ctx context.Context) ([]crm.ScoreCount, error) {
	rows, err := s.pool.Query(ctx, `SELECT r, f, count(*) FROM crm_profiles WHERE orders > 0 GROUP BY r, f ORDER BY r, f`)
	if err != nil {
		return nil, errs.Wrap(err, "crm: score counts")
	}
	var out []crm.ScoreCount
	var c crm.ScoreCount
	_, err = pgx.ForEachRow(rows, []any{&c.R, &c.F, &c.N}, func() error { out = append(out, c); return nil })
	return out, errs.Wrap(err, "crm: score counts")
}

// crmNarrow fills the places where a one-buyer recompute narrows each
// source, with param naming the buyer's parameter.
func crmNarrow(q string, one bool, param string) string {
	r := map[string]string{"{o}": "", "{s}": "", "{v}": "", "{b}": ""}
	if one {
		r = map[string]string{"{o}": "AND o.buyer_id = " + param, "{s}": "AND subject_id = " + param,
			"{v}": "AND visitor_id = " + param, "{b}": "AND b.id = " + param}
	}
	for k, v := range r {
		q = strings.ReplaceAll(q, k, v)
	}
	return q
}
