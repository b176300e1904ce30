package sqlite

import (
	"context"

	"github.com/siyu-commerce/siyu/internal/audit"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

const (
	auditColumns     = `id, created_at, actor_id, role, action, target, status, request_id`
	auditCursorOrder = "audit_newest"
)

// RecordAudit appends one entry.
func (s *Store) RecordAudit(ctx context.Context, e audit.Entry) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, ts(e.At), e.ActorID, e.Role, e.Action, e.Target, e.Status, e.RequestID)
	return errs.Wrap(err, "audit: record")
}

// AuditEntries lists entries newest first.
func (s *Store) AuditEntries(ctx context.Context, f audit.Filter) (audit.Page, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = audit.DefaultLimit
	}
	limit = min(limit, audit.MaxLimit)
	var n newest
	n.eq("actor_id", f.ActorID)
	if err := n.after(auditCursorOrder, f.Cursor); err != nil {
		return audit.Page{}, audit.ErrBadCursor
	}
	q, args := n.query(auditColumns, "audit_log", limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return audit.Page{}, errs.Wrap(err, "audit: list")
	}
	defer rows.Close()
	page := audit.Page{Entries: []audit.Entry{}}
	for rows.Next() {
		var e audit.Entry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.Role, &e.Action, &e.Target, &e.Status, &e.RequestID); err != nil {
			return audit.Page{}, errs.Wrap(err, "audit: list")
		}
		e.At = fromTS(at)
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
