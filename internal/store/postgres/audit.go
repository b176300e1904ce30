package postgres

import (
	"context"

	"github.com/siyu-commerce/siyu/internal/audit"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

const (
	auditColumns     = `id, created_at, actor_id, role, action, target, status, request_id`
	auditCursorOrder = "audit_newest"
)

// RecordAudit appends one entry.
func (s *Store) RecordAudit(ctx context.Context, e audit.Entry) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.ID, e.At, e.ActorID, e.Role, e.Action, e.Target, e.Status, e.RequestID)
	return errs.Wrap(err, "audit: record")
}

// AuditEntries lists entries newest first.
func (s *Store) AuditEntries(ctx context.Context, f audit.Filter) (audit.Page, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = audit.DefaultLimit
	}
	limit = min(limit, audit.MaxLimit)
	if f.ActorID != "" && !ids.Valid(f.ActorID) {
		return audit.Page{Entries: []audit.Entry{}}, nil // no such operator, so nothing they did
	}
	var n newest
	n.eq("actor_id", f.ActorID)
	if err := n.after(auditCursorOrder, f.Cursor); err != nil {
		return audit.Page{}, audit.ErrBadCursor
	}
	q, args := n.query(auditColumns, "audit_log", limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return audit.Page{}, errs.Wrap(err, "audit: list")
	}
	defer rows.Close()
	page := audit.Page{Entries: []audit.Entry{}}
	for rows.Next() {
		var e audit.Entry
		if err := rows.Scan(&e.ID, &e.At, &e.ActorID, &e.Role, &e.Action, &e.Target, &e.Status, &e.RequestID); err != nil {
			return audit.Page{}, errs.Wrap(err, "audit: list")
		}
		e.At = e.At.UTC()
		page.Entries = append(page.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return audit.Page{}, errs.Wrap(err, "audit: list")
	}
	page.Entries, page.NextCursor = cursor.Page(auditCursorOrder, page.Entries, limit, func(e *audit.Entry) (int64, string) {
		return e.At.UnixMicro(), e.ID
	})
	return page, nil
}
