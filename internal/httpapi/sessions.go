package httpapi

import (
	"net/http"
	"time"

	"github.com/siyu-commerce/siyu/internal/identity"
)

type buyerLoginRequest struct {
	Code string `json:"code"`
}

// buyerSession is the answer to a buyer's login. It carries the token and
// nothing of WeChat's: the openid and session_key stay on the server.
type buyerSession struct {
	Token     string          `json:"token"`
	ExpiresAt time.Time       `json:"expires_at"`
	Buyer     *identity.Buyer `json:"buyer"`
}

func (a *api) buyerLogin(w http.ResponseWriter, r *http.Request) {
	var req buyerLoginRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	token, b, exp, err := a.d.Identity.Login(r.Context(), req.Code)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, buyerSession{Token: token, ExpiresAt: exp, Buyer: b})
}

type operatorLoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type operatorSession struct {
	Token     string                    `json:"token"`
	ExpiresAt time.Time                 `json:"expires_at"`
	Operator  *identity.OperatorAccount `json:"operator"`
}

func (a *api) operatorLogin(w http.ResponseWriter, r *http.Request) {
	var req operatorLoginRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	token, op, exp, err := a.d.Identity.OperatorLogin(r.Context(), req.Email, req.Password)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, operatorSession{Token: token, ExpiresAt: exp, Operator: op})
}

// logout ends the session of the token the request was authenticated by;
// the route's auth layer has already checked the token is live and of the
// right kind.
func (a *api) logout(w http.ResponseWriter, r *http.Request) {
	tok, _ := bearerToken(r)
	if err := a.d.Identity.Logout(r.Context(), tok); err != nil {
		writeError(w, r, err)
		return
	}
	a.hotAuth.forget(tok)
	w.WriteHeader(http.StatusNoContent)
}
