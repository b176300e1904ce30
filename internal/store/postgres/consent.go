package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/consent"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

const (
	consentColumns     = `id, buyer_id, purpose, action, policy_version, created_at`
	consentCursorOrder = "consent_newest"
)

// AppendConsent writes one record.
func (s *Store) AppendConsent(ctx context.Context, r consent.Record) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO consent_records (`+consentColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		r.ID, r.BuyerID, string(r.Purpose), string(r.Action), r.PolicyVersion, r.At)
	return errs.Wrap(err, "consent: append")
}

func scanConsents(rows pgx.Rows) ([]consent.Record, error) {
	defer rows.Close()
	out := []consent.Record{}
	for rows.Next() {
		var r consent.Record
		if err := rows.Scan(&r.ID, &r.BuyerID, &r.Purpose, &r.Action, &r.PolicyVersion, &r.At); err != nil {
			return nil, err
		}
		r.At = r.At.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// ConsentHistory lists a buyer's records newest first.
func (s *Store) ConsentHistory(ctx context.Context, f consent.HistoryFilter) (consent.HistoryPage, error) {
	limit := min(max(f.Limit, 1), consent.MaxLimit)
	if !ids.Valid(f.BuyerID) {
		return consent.HistoryPage{Records: []consent.Record{}}, nil // not a buyer, so no history
	}
	var n newest
	n.eq("buyer_id", f.BuyerID)
	if err := n.after(consentCursorOrder, f.Cursor); err != nil {
		return consent.HistoryPage{}, consent.ErrBadCursor
	}
	q, args := n.query(consentColumns, "consent_records", limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return consent.HistoryPage{}, errs.Wrap(err, "consent: history")
	}
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
	if !ids.Valid(buyerID) {
		return []consent.Record{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (purpose) `+consentColumns+` FROM consent_records
		WHERE buyer_id = $1 ORDER BY purpose, created_at DESC, id DESC`, buyerID)
	if err != nil {
		return nil, errs.Wrap(err, "consent: latest")
	}
	recs, err := scanConsents(rows)
	return recs, errs.Wrap(err, "consent: latest")
}

// ConsentedBuyers is one statement over the ids as an array: the latest
// record of each (DISTINCT ON walks consent_records_latest), kept if it
// grants the purpose's current version.
func (s *Store) ConsentedBuyers(ctx context.Context, buyerIDs []string, purpose consent.Purpose) ([]string, error) {
	valid := make([]string, 0, len(buyerIDs))
	for _, id := range buyerIDs {
		if ids.Valid(id) { // a malformed id would fail the uuid cast; it names nobody anyway
			valid = append(valid, id)
		}
	}
	out := []string{}
	if len(valid) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT l.buyer_id::text FROM (
			SELECT DISTINCT ON (buyer_id) buyer_id, action, policy_version FROM consent_records
			WHERE purpose = $1 AND buyer_id = ANY($2::text[]::uuid[])
			ORDER BY buyer_id, created_at DESC, id DESC) l
		WHERE l.action = 'grant'
		AND l.policy_version = (SELECT COALESCE(MAX(version), 1) FROM consent_policies WHERE purpose = $1)`,
		string(purpose), valid)
	if err != nil {
		return nil, errs.Wrap(err, "consent: allowed set")
	}
	defer rows.Close()
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
	tag, err := s.pool.Exec(ctx, `INSERT INTO consent_policies (purpose, version, summary, published_at, published_by)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (purpose, version) DO NOTHING`,
		string(p.Purpose), p.Version, p.Summary, p.PublishedAt, p.PublishedBy)
	if err != nil {
		return errs.Wrap(err, "consent: publish")
	}
	if tag.RowsAffected() == 0 {
		return consent.ErrPolicyConflict
	}
	return nil
}

// Policies lists the published versions by purpose, then version.
func (s *Store) Policies(ctx context.Context) ([]consent.Policy, error) {
	rows, err := s.pool.Query(ctx, `SELECT purpose, version, summary, published_at, published_by
		FROM consent_policies ORDER BY purpose, version`)
	if err != nil {
		return nil, errs.Wrap(err, "consent: policies")
	}
	defer rows.Close()
	out := []consent.Policy{}
	for rows.Next() {
		var p consent.Policy
		if err := rows.Scan(&p.Purpose, &p.Version, &p.Summary, &p.PublishedAt, &p.PublishedBy); err != nil {
			return nil, errs.Wrap(err, "consent: policies")
		}
		p.PublishedAt = p.PublishedAt.UTC()
		out = append(out, p)
	}
	return out, errs.Wrap(rows.Err(), "consent: policies")
}
