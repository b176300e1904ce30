package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
)

var (
	errNoToken = errs.E(errs.Unauthorized, "unauthenticated", "sign in first: send Authorization: Bearer <token>")
	// errWrongAudience answers a valid token of the wrong kind (a buyer's on
	// the admin API, an operator's on the buyer API) exactly as an invalid
	// one: the two APIs are separate realms and neither hints at the other.
	errWrongAudience = identity.ErrUnauthenticated
	errForbidden     = errs.E(errs.Forbidden, "forbidden", "your role does not allow this")
)

// bearerToken returns the token of an Authorization: Bearer header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func principalFrom(ctx context.Context) identity.Principal {
	p, _ := ctx.Value(principalKey).(identity.Principal)
	return p
}

// authed resolves the caller's token and requires it to be of kind, then
// hands the principal to h.
func (a *api) authed(kind identity.PrincipalKind, h func(w http.ResponseWriter, r *http.Request, p identity.Principal)) http.HandlerFunc {
	return a.authedBy(a.authenticate, kind, h)
}

// hotBuyer is a buyer route of the flash sale's hot path: its tokens are
// resolved through the short-lived cache (authcache.go).
func (a *api) hotBuyer(h buyerHandler) http.HandlerFunc {
	resolve := func(ctx context.Context, tok string) (identity.Principal, error) {
		return a.hotAuth.get(ctx, tok, a.authenticate)
	}
	return a.authedBy(resolve, identity.KindBuyer, func(w http.ResponseWriter, r *http.Request, p identity.Principal) {
		h(w, r, p.ID)
	})
}

func (a *api) authedBy(resolve func(context.Context, string) (identity.Principal, error), kind identity.PrincipalKind,
	h func(w http.ResponseWriter, r *http.Request, p identity.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearerToken(r)
		if !ok {
			writeError(w, r, errNoToken)
			return
		}
		p, err := resolve(r.Context(), tok)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if p.Kind != kind {
			writeError(w, r, errWrongAudience)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey, p))
		h(w, r, p)
	}
}

// buyerHandler is a buyer route: it gets the id of the buyer calling, and
// must check that every object it touches is theirs.
type buyerHandler func(w http.ResponseWriter, r *http.Request, buyerID string)

func (a *api) buyer(h buyerHandler) http.HandlerFunc {
	return a.authed(identity.KindBuyer, func(w http.ResponseWriter, r *http.Request, p identity.Principal) {
		h(w, r, p.ID)
	})
}

// adminHandler is an admin route; it gets the operator calling.
type adminHandler func(w http.ResponseWriter, r *http.Request, op identity.Principal)

// Which operators may do what. The owner may do everything; each admin
// route names the other roles it admits, so a route with no list is the
// owner's alone.
var (
	catalogRoles    = []identity.Role{identity.Operator}
	stockRoles      = []identity.Role{identity.Operator}
	orderReadRoles  = []identity.Role{identity.Operator, identity.Finance}
	orderWriteRoles = []identity.Role{identity.Operator}
)

func (a *api) admin(roles []identity.Role, h adminHandler) http.HandlerFunc {
	return a.authed(identity.KindOperator, func(w http.ResponseWriter, r *http.Request, p identity.Principal) {
		if p.Role != identity.Owner && !slices.Contains(roles, p.Role) {
			writeError(w, r, errForbidden)
			return
		}
		a.audited(w, r, p, h)
	})
}
