package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/siyu-commerce/siyu/internal/errs"
)

// problemTypePrefix makes each problem's type a URN named by its code: a
// stable identifier clients may compare, with no promise of a page behind it
// (RFC 9457 §3.1.1 allows any URI).
const problemTypePrefix = "urn:siyu:problem:"

// internalDetail is all a client learns of an unexpected failure; the cause
// goes to the log under the same request id.
const internalDetail = "an unexpected error occurred; quote the request id if you report it"

// problem is an application/problem+json body (RFC 9457) with siyu's
// extensions: a stable code, the offending field, every field error of a
// validation failure, and the request id to quote in a report.
type problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail"`
	Code      string         `json:"code"`
	Field     string         `json:"field,omitempty"`
	Errors    []fieldProblem `json:"errors,omitempty"`
	RequestID string         `json:"request_id"`
}

type fieldProblem struct {
	Field  string `json:"field"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// httpError is a failure that belongs to HTTP itself and has no errs.Kind:
// a wrong media type, a route or method that does not exist.
type httpError struct {
	status int
	code   string
	field  string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

var statusOfKind = map[errs.Kind]int{
	errs.Invalid:       http.StatusBadRequest,
	errs.Unauthorized:  http.StatusUnauthorized,
	errs.Forbidden:     http.StatusForbidden,
	errs.NotFound:      http.StatusNotFound,
	errs.Conflict:      http.StatusConflict,
	errs.Unprocessable: http.StatusUnprocessableEntity,
	errs.TooLarge:      http.StatusRequestEntityTooLarge,
	errs.TooMany:       http.StatusTooManyRequests,
	errs.Unavailable:   http.StatusServiceUnavailable,
}

// problemOf turns any error into the problem a client may see. Only
// messages an errs.Error marks as safe reach the client; everything else
// becomes a generic 500.
func problemOf(err error) problem {
	var he *httpError
	if errors.As(err, &he) {
		return problem{Status: he.status, Code: he.code, Field: he.field, Detail: he.msg}
	}
	e, ok := errs.As(err)
	if !ok {
		return problem{Status: http.StatusInternalServerError, Code: "internal", Detail: internalDetail}
	}
	p := problem{Status: statusOfKind[e.Kind], Code: e.Code, Field: e.Field, Detail: e.Message}
	if p.Code == "" {
		p.Code = e.Kind.String()
	}
	for _, f := range errs.Fields(err) {
		p.Errors = append(p.Errors, fieldProblem{Field: f.Field, Code: f.Code, Detail: f.Message})
	}
	return p
}

// writeError answers with the problem for err. Failures a client did not
// cause are logged with their cause; the client sees only the request id.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problemOf(err)
	if p.Status >= 500 {
		// A 500 is a bug to fix; a 503 is a dependency to watch.
		level := slog.LevelError
		if p.Status != http.StatusInternalServerError {
			level = slog.LevelWarn
		}
		loggerFrom(r.Context()).Log(r.Context(), level, "request failed",
			slog.String("request_id", requestID(r.Context())), slog.Int("status", p.Status), slog.String("error", err.Error()))
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="siyu"`)
	}
	writeProblem(w, r, p)
}

func writeProblem(w http.ResponseWriter, r *http.Request, p problem) {
	p.Type = problemTypePrefix + p.Code
	p.Title = http.StatusText(p.Status)
	p.RequestID = requestID(r.Context())
	b, err := json.Marshal(p)
	if err != nil { // a problem is plain strings and ints: this cannot fail
		panic(err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(b)
}

// writeJSON answers with v as JSON. It marshals first so a value that
// cannot be encoded becomes a clean 500, not half a body.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, r, errs.Wrap(err, "encode response"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
