// Package audit owns the operators' audit log: who changed what, when, and
// with what outcome. Every admin request that changes something is recorded
// by the HTTP layer's admin wrapper (a cross-cutting concern: it wraps the
// handlers, it does not live inside them). An entry names the route, the
// object it touched and the result; it never holds a request body, so no
// personal data reaches the log. Entries are kept at least 3 years
// (DOMAIN.md, "Records"): nothing in siyu deletes them.
package audit

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
)

// Entry is one audited action.
type Entry struct {
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	ActorID   string    `json:"actor_id"` // the operator
	Role      string    `json:"role"`
	Action    string    `json:"action"`           // the route, e.g. "POST /admin/api/v1/orders/{id}/ship"
	Target    string    `json:"target,omitempty"` // the object of the path, e.g. the order id
	Status    int       `json:"status"`           // the HTTP status answered
	RequestID string    `json:"request_id"`
}

// Filter selects entries, newest first.
type Filter struct {
	ActorID string
	Cursor  string
	Limit   int
}

// Page is one page of entries.
type Page struct {
	Entries    []Entry `json:"items"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// Page sizes.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// ErrBadCursor is a cursor this listing did not hand out.
var ErrBadCursor = errs.Field("cursor", "invalid_cursor", "the cursor is not one this listing returned")

// Store keeps the log; it only ever appends.
type Store interface {
	RecordAudit(ctx context.Context, e Entry) error
	AuditEntries(ctx context.Context, f Filter) (Page, error)
}
