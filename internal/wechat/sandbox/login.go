package sandbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Login simulates code2Session (GET /sns/jscode2session) the way WeChat
// answers it, so the login client and the whole login flow run unchanged in
// sandbox mode and in tests.
//
// A code names the user it logs in: "alice" and "alice.<anything>" are both
// alice, so a front end can make a fresh code per login ("alice.1",
// "alice.2"). The same user always gets the same openid (and unionid) from
// one simulator key and app id, as WeChat gives one person one openid per
// mini program; every exchange gets a fresh session_key. Like a real code,
// each works once. Codes that start with a trigger word fail on purpose:
//
//	invalid...    errcode 40029 (invalid code)
//	ratelimit...  errcode 45011 (rate limited)
//	busy...       errcode -1    (system busy)
type Login struct {
	appID, secret string
	key           []byte
	now           func() time.Time

	mu   sync.Mutex
	used map[string]time.Time // code -> when it was exchanged
}

// usedMemory is how long a used code is remembered, once the simulator holds
// many: real codes expire within minutes, so a simulator that forgets a code
// after a day cannot be told apart from WeChat by a well-behaved client.
const (
	usedMemory   = 24 * time.Hour
	usedPruneLen = 100_000
)

// NewLogin returns a simulator for one mini program. key makes the openids:
// keep it (for example derived from the data key) so buyers keep their
// openids across restarts of a sandbox shop; nil means a random key, fine
// for tests.
func NewLogin(appID, appSecret string, key []byte) *Login {
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
	}
	return &Login{appID: appID, secret: appSecret, key: key, now: time.Now, used: map[string]time.Time{}}
}

// OpenID is the openid the simulator gives user: tests and the demo use it
// to know who a code will log in as.
func (l *Login) OpenID(user string) string { return l.derive("openid", user) }

// UnionID is user's unionid.
func (l *Login) UnionID(user string) string { return l.derive("unionid", user) }

// derive formats like WeChat's ids: "o" and 27 base64url characters.
func (l *Login) derive(kind, user string) string {
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte(kind + "\x00" + l.appID + "\x00" + user))
	return "o" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:27]
}

// Errors as WeChat words them; rid is the request id it appends.
var (
	errMissingCode  = wxError{41008, "missing code"}
	errInvalidCode  = wxError{40029, "invalid code"}
	errCodeUsed     = wxError{40163, "code been used"}
	errRateLimited  = wxError{45011, "api minute-quota reach limit mustslower retry next minute"}
	errBusy         = wxError{-1, "system error"}
	errInvalidAppID = wxError{40013, "invalid appid"}
	errInvalidSec   = wxError{40125, "invalid appsecret"}
	errGrantType    = wxError{40002, "invalid grant_type"}
)

type wxError struct {
	Code int    `json:"errcode"`
	Msg  string `json:"errmsg"`
}

func (l *Login) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/sns/jscode2session" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	code := q.Get("js_code")
	switch {
	case q.Get("appid") != l.appID:
		reply(w, errInvalidAppID)
	case !hmac.Equal([]byte(q.Get("secret")), []byte(l.secret)):
		reply(w, errInvalidSec)
	case q.Get("grant_type") != "authorization_code":
		reply(w, errGrantType)
	case code == "":
		reply(w, errMissingCode)
	case strings.HasPrefix(code, "invalid"):
		reply(w, errInvalidCode)
	case strings.HasPrefix(code, "ratelimit"):
		reply(w, errRateLimited)
	case strings.HasPrefix(code, "busy"):
		reply(w, errBusy)
	case !l.use(code):
		reply(w, errCodeUsed)
	default:
		user, _, _ := strings.Cut(code, ".")
		reply(w, struct {
			SessionKey string `json:"session_key"`
			OpenID     string `json:"openid"`
			UnionID    string `json:"unionid"`
		}{newSessionKey(), l.OpenID(user), l.UnionID(user)})
	}
}

// use marks code used, reporting whether it was fresh.
func (l *Login) use(code string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if _, seen := l.used[code]; seen {
		return false
	}
	if len(l.used) >= usedPruneLen {
		for c, at := range l.used {
			if now.Sub(at) > usedMemory {
				delete(l.used, c)
			}
		}
	}
	l.used[code] = now
	return true
}

// newSessionKey makes a key shaped like WeChat's: 16 random bytes, base64.
func newSessionKey() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// reply answers as WeChat does: HTTP 200 whatever happened, the outcome in
// the JSON.
func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}
