package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Page sizes of every listing.
const (
	defaultLimit = 20
	maxLimit     = 100
)

// query parses a request's query string, collecting every bad parameter so
// the client hears about all of them at once. Unknown parameters are bad
// too, for the same reason unknown JSON fields are: a misspelt filter that
// is silently ignored returns the wrong products.
type query struct {
	v    url.Values
	errs errs.List
}

func newQuery(r *http.Request, known ...string) *query {
	q := &query{v: r.URL.Query()}
	names := make([]string, 0, len(q.v))
	for name := range q.v {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		switch {
		case !slices.Contains(known, name):
			q.errs.Add(name, "unknown_parameter", "%q is not a parameter of this listing", name)
		case len(q.v[name]) > 1:
			q.errs.Add(name, "invalid_parameter", "%s is given more than once", name)
		}
	}
	return q
}

func (q *query) get(name string) (string, bool) {
	vs, ok := q.v[name]
	if !ok || len(vs) != 1 {
		return "", false
	}
	return vs[0], true
}

// text is a free-text parameter of at most max characters.
func (q *query) text(name string, max int) string {
	s, _ := q.get(name)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		q.errs.Add(name, "invalid_parameter", "%s must be at most %d characters of UTF-8 text", name, max)
		return ""
	}
	return s
}

// id is an optional UUID parameter.
func (q *query) id(name string) string {
	s, ok := q.get(name)
	if ok && !ids.Valid(s) {
		q.errs.Add(name, "invalid_parameter", "%s must be an id", name)
		return ""
	}
	return s
}

// fen is an optional amount in fen: a non-negative integer.
func (q *query) fen(name string) money.Fen {
	s, ok := q.get(name)
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		q.errs.Add(name, "invalid_parameter", "%s must be a whole number of fen, 0 or more", name)
		return 0
	}
	return money.Fen(n)
}

// oneOf is an optional parameter that must be one of allowed.
func (q *query) oneOf(name string, allowed ...string) string {
	s, ok := q.get(name)
	if ok && !slices.Contains(allowed, s) {
		q.errs.Add(name, "invalid_parameter", "%s must be one of %v", name, allowed)
		return ""
	}
	return s
}

// limit is the page size, 1 to maxLimit, defaultLimit when absent.
func (q *query) limit() int {
	s, ok := q.get("limit")
	if !ok {
		return defaultLimit
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		q.errs.Add("limit", "invalid_parameter", "limit must be a whole number from 1 to %d", maxLimit)
		return defaultLimit
	}
	return n
}

// cursor is the opaque cursor of the previous page; the listing itself
// judges whether it is one it issued.
func (q *query) cursor() string { return q.text("cursor", 512) }

func (q *query) err() error { return q.errs.Err() }
