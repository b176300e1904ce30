package httpapi

import (
	"net/http"

	"github.com/siyu-commerce/siyu/internal/audit"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// auditTargets are the path values that name the object of an admin route,
// in the order they are looked for.
var auditTargets = []string{"id", "sku_id", "account", "day"}

// audited records an operator's request that changed something: a method
// other than GET that succeeded. A read is not an action, and a refused
// request changed nothing. The entry names the route and its object, never
// the body, so no personal data reaches the log. If the log cannot be
// written the action has already happened: the failure is logged loudly
// rather than turned into an error the operator would retry.
func (a *api) audited(w http.ResponseWriter, r *http.Request, p identity.Principal, h adminHandler) {
	if r.Method == http.MethodGet || a.d.Audit == nil {
		h(w, r, p)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	h(sw, r, p)
	if sw.status == 0 || sw.status >= 400 {
		return
	}
	e := audit.Entry{
		ID: ids.New(), At: a.clock.Now(), ActorID: p.ID, Role: string(p.Role),
		Action: r.Pattern, Status: sw.status, RequestID: requestID(r.Context()),
	}
	if e.Action == "" {
		e.Action = infoFrom(r.Context()).route
	}
	for _, name := range auditTargets {
		if v := r.PathValue(name); v != "" {
			e.Target = v
			break
		}
	}
	if err := a.d.Audit.RecordAudit(r.Context(), e); err != nil {
		loggerFrom(r.Context()).ErrorContext(r.Context(), "audit: entry not recorded",
			"request_id", e.RequestID, "action", e.Action, "actor", e.ActorID, "err", err)
	}
}

// listAudit is the owner's read of the audit log, newest first.
func (a *api) listAudit(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	q := newQuery(r, "actor_id", "cursor", "limit")
	f := audit.Filter{ActorID: q.id("actor_id"), Cursor: q.cursor(), Limit: q.limit()}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Audit.AuditEntries(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, page)
}
