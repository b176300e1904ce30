package sqlite

import (
	"context"
	"encoding/json"

	"github.com/siyu-commerce/siyu/internal/consent"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

const (
	consentColumns     = `id, buyer_id, purpose, action, policy_version, created_at`
	consentCursorOrder = "consent_newest"
	// consentIsLatest keeps a record r only if no later one exists for its
	// buyer and purpose (ids are UUIDv7, so they break ties in time order).
	consentIsLatest = `NOT EXISTS (SELECT 1 FROM consent_records n WHERE n.buyer_id = r.buyer_id AND n.purpose = r.purpose
		AND (n.created_at, n.id) > (r.created_at, r.id))`
)

// AppendConsent writes one record.
func (s *Store) AppendConsent(ctx context.Context, r consent.Record) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO consent_records (`+consentColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ID, r.BuyerID, string(r.Purpose), string(r.Action), r.PolicyVersion, ts(r.At))
	return errs.Wrap(err, "consent: append")
}

func scanConsents(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
}) ([]consent.Record, error) {
	out := []consent.Record{}
	for rows.Next() {
		var r consent.Record
		var at int64
		if err := rows.Scan(&r.ID, &r.BuyerID, &r.Purpose, &r.Action, &r.PolicyVersion, &at); err != nil {
			return nil, err
		}
		r.At = fromTS(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ConsentHistory lists a buyer's records newest first.
func (s *Store) ConsentHistory(ctx context.Context, f consent.HistoryFilter) (consent.HistoryPage, error) {
	limit := min(max(f.Limit, 1), consent.MaxLimit)
	n := newest{where: []string{"buyer_id = ?"}, args: []any{f.BuyerID}}
	if err := n.after(consentCursorOrder, f.Cursor); err != nil {
		return consent.HistoryPage{}, consent.ErrBadCursor
	}
	q, args := n.query(consentColumns, "consent_records", limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return consent.HistoryPage{}, errs.Wrap(err, "consent: history")
	}
	defer rows.Close()
	recs, err := scanConsents(rows)
	if err != nil {
		return consent.HistoryPage{}, errs.Wrap(err, "consent: history")
	}
	var page consent.HistoryPage
	page.Records, page.NextCursor = cursor.Page(consentCursorOrder, recs, limit, func(r *consent.Record) (int64, string) {
		return r.At.UnixMicro(), r.ID
	})
	return page, nil
}

// LatestConsents returns the buyer's latest record per purpose.
func (s *Store) LatestConsents(ctx context.Context, buyerID string) ([]consent.Record, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+consentColumns+` FROM consent_records r
		WHERE buyer_id = ? AND `+consentIsLatest+` ORDER BY purpose`, buyerID)
	if err != nil {
		return nil, errs.Wrap(err, "consent: latest")
	}
	defer rows.Close()
	recs, err := scanConsents(rows)
	return recs, errs.Wrap(err, "consent: latest")
}

// ConsentedBuyers passes the ids as one JSON array (json_each), so a
// campaign's thousands of buyers are one statement with two parameters.
func (s *Store) ConsentedBuyers(ctx context.Context, buyerIDs []string, purpose consent.Purpose) ([]string, error) {
	list, err := json.Marshal(buyerIDs)
	if err != nil {
		return nil, errs.Wrap(err, "consent: allowed set")
	}
	rows, err := s.r.QueryContext(ctx, `SELECT r.buyer_id FROM consent_records r
		WHERE r.purpose = ?1 AND r.buyer_id IN (SELECT value FROM json_each(?2))
		AND r.action = 'grant'
		AND r.policy_version = (SELECT COALESCE(MAX(version), 1) FROM consent_policies WHERE purpose = ?1)
		AND `+consentIsLatest, string(purpose), string(list))
	if err != nil {
		return nil, errs.Wrap(err, "consent: allowed set")
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, errs.Wrap(err, "consent: allowed set")
		}
		out = append(out, id)
	}
	return out, errs.Wrap(rows.Err(), "consent: allowed set")
}

// PublishPolicy inserts a version; a version that exists already is
// ErrPolicyConflict (the first publisher wins), told by no row inserted.
func (s *Store) PublishPolicy(ctx context.Context, p consent.Policy) error {
	res, err := s.w.ExecContext(ctx, `INSERT INTO consent_policies (purpose, version, summary, published_at, published_by)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (purpose, version) DO NOTHING`,
		string(p.Purpose), p.Version, p.Summary, ts(p.PublishedAt), p.PublishedBy)
	if err != nil {
		return errs.Wrap(err, "consent: publish")
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return cmpOr(errs.Wrap(err, "consent: publish"), consent.ErrPolicyConflict)
	}
	return nil
}

// cmpOr is the first non-nil error.
func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// Policies lists the published versions by purpose, then version.
func (s *Store) Policies(ctx context.Context) ([]consent.Policy, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT purpose, version, summary, published_at, published_by
		FROM consent_policies ORDER BY purpose, version`)
	if err != nil {
		return nil, errs.Wrap(err, "consent: policies")
	}
	defer rows.Close()
	out := []consent.Policy{}
	for rows.Next() {
		var p consent.Policy
		var at int64
		if err := rows.Scan(&p.Purpose, &p.Version, &p.Summary, &at, &p.PublishedBy); err != nil {
			return nil, errs.Wrap(err, "consent: policies")
		}
		p.PublishedAt = fromTS(at)
		out = append(out, p)
	}
	return out, errs.Wrap(rows.Err(), "consent: policies")
}
