package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Default session lifetimes: a buyer stays logged in for a week, as mini
// programs re-login silently anyway; an operator session covers a working
// day, since it can move money.
const (
	DefaultBuyerTTL    = 7 * 24 * time.Hour
	DefaultOperatorTTL = 12 * time.Hour
)

// Password length bounds for operators. The upper one is a guard, not a
// policy: hashing is costly and the input is attacker-chosen.
const (
	MinPasswordLen = 10
	maxPasswordLen = 1024
)

// Service logs buyers and operators in, authenticates their requests and
// keeps buyers' addresses.
type Service struct {
	Store       Store
	Clock       clock.Clock   // clock.Real{} when nil
	WeChat      WeChat        // code2Session: the real client or the sandbox
	BuyerTTL    time.Duration // DefaultBuyerTTL when zero
	OperatorTTL time.Duration // DefaultOperatorTTL when zero
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return clock.Real{}.Now()
	}
	return s.Clock.Now()
}

// Login logs a buyer in with the one-time code wx.login gave the mini
// program: the code is exchanged for the buyer's openid, the buyer is found
// or created, and a new session token is returned with its expiry. The
// token is the only credential; the openid never is.
func (s *Service) Login(ctx context.Context, code string) (string, *Buyer, time.Time, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return "", nil, time.Time{}, errs.Field("code", "required", "the login code is required")
	}
	if len(code) > 256 {
		return "", nil, time.Time{}, ErrInvalidLoginCode
	}
	if s.WeChat == nil {
		return "", nil, time.Time{}, wechatUnavailable(errors.New("identity: no WeChat login client configured"))
	}
	ws, err := s.WeChat.Code2Session(ctx, code)
	if err != nil {
		return "", nil, time.Time{}, err
	}
	if ws.OpenID == "" {
		return "", nil, time.Time{}, wechatUnavailable(errors.New("identity: code2Session gave no openid"))
	}
	now := s.now()
	b, err := s.Store.UpsertBuyer(ctx, ws.OpenID, ws.UnionID, ws.SessionKey, now)
	if err != nil {
		return "", nil, time.Time{}, err
	}
	token, exp, err := s.startSession(ctx, KindBuyer, b.ID, "", ttl(s.BuyerTTL, DefaultBuyerTTL), now)
	if err != nil {
		return "", nil, time.Time{}, err
	}
	return token, b, exp, nil
}

func wechatUnavailable(cause error) error {
	return &errs.Error{Kind: errs.Unavailable, Code: "wechat_unavailable",
		Message: "WeChat login is unavailable; try again later", Err: cause}
}

// OpenID returns a buyer's openid, for paying through WeChat Pay as that
// payer. It never leaves the server.
func (s *Service) OpenID(ctx context.Context, buyerID string) (string, error) {
	b, err := s.Store.Buyer(ctx, buyerID)
	if err != nil {
		return "", err
	}
	return b.OpenID, nil
}

// Authenticate returns who a token belongs to. A missing, unknown, expired or
// revoked token is ErrUnauthenticated, whichever it was.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	sess, err := s.liveSession(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Kind: sess.Kind, ID: sess.SubjectID, Role: sess.Role, SessionID: sess.ID}, nil
}

// Logout revokes the token's session; the token stops working at once.
func (s *Service) Logout(ctx context.Context, token string) error {
	sess, err := s.liveSession(ctx, token)
	if err != nil {
		return err
	}
	return s.Store.RevokeSession(ctx, sess.ID, s.now())
}

// PurgeSessions deletes sessions that expired before now minus keep; a job
// runs it so the table does not grow with every login forever.
func (s *Service) PurgeSessions(ctx context.Context, keep time.Duration) (int, error) {
	return s.Store.PurgeSessions(ctx, s.now().Add(-keep))
}

func (s *Service) liveSession(ctx context.Context, token string) (*Session, error) {
	// Tokens we mint are 43 characters; anything far off is not one, and
	// need not cost a query.
	if token == "" || len(token) > 128 {
		return nil, ErrUnauthenticated
	}
	sess, err := s.Store.SessionByHash(ctx, hashToken(token))
	if err != nil {
		return nil, err
	}
	if sess.RevokedAt != nil || !s.now().Before(sess.ExpiresAt) {
		return nil, ErrUnauthenticated
	}
	return sess, nil
}

func (s *Service) startSession(ctx context.Context, kind PrincipalKind, subject string, role Role, ttl time.Duration, now time.Time) (string, time.Time, error) {
	token, hash := newToken()
	sess := &Session{ID: ids.New(), TokenHash: hash, Kind: kind, SubjectID: subject, Role: role,
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.Store.CreateSession(ctx, sess); err != nil {
		return "", time.Time{}, err
	}
	return token, sess.ExpiresAt, nil
}

// newToken mints a session token, 256 random bits, and the hash that is all
// the database keeps. A fast hash is enough: the token has full entropy, so
// a leaked table gives nothing to guess at.
func newToken() (token, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func ttl(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// CreateOperator creates a console account. The email is stored lower-case,
// so it is unique whatever case it is typed in.
func (s *Service) CreateOperator(ctx context.Context, email, password string, role Role) (*OperatorAccount, error) {
	var bad errs.List
	email, ok := normaliseEmail(email)
	if !ok {
		bad.Add("email", "invalid_email", "not an email address")
	}
	switch n := utf8.RuneCountInString(password); {
	case n < MinPasswordLen:
		bad.Add("password", "password_too_short", "a password has at least %d characters", MinPasswordLen)
	case len(password) > maxPasswordLen:
		bad.Add("password", "password_too_long", "a password has at most %d bytes", maxPasswordLen)
	}
	if !role.Valid() {
		bad.Add("role", "invalid_role", "the role is one of owner, operator, finance, reviewer")
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	hash, err := hashPassword(ctx, password)
	if err != nil {
		return nil, errs.Wrap(err, "identity: hash password")
	}
	o := &OperatorAccount{ID: ids.New(), Email: email, Role: role, PasswordHash: hash, CreatedAt: s.now()}
	if err := s.Store.CreateOperator(ctx, o); err != nil {
		return nil, err
	}
	return o, nil
}

// OperatorLogin checks an operator's email and password and starts a
// session. A wrong email and a wrong password get the same error after the
// same work, so the form cannot be used to find out who has an account.
func (s *Service) OperatorLogin(ctx context.Context, email, password string) (string, *OperatorAccount, time.Time, error) {
	email, _ = normaliseEmail(email)
	o, err := s.Store.OperatorByEmail(ctx, email)
	hash := dummyHash
	switch {
	case err == nil:
		hash = o.PasswordHash
	case !errors.Is(err, ErrOperatorNotFound):
		return "", nil, time.Time{}, err
	}
	if len(password) > maxPasswordLen {
		return "", nil, time.Time{}, ErrInvalidCredentials
	}
	match, err := verifyPassword(ctx, hash, password)
	if err != nil {
		return "", nil, time.Time{}, errs.Wrap(err, "identity: verify password")
	}
	if !match || o == nil {
		return "", nil, time.Time{}, ErrInvalidCredentials
	}
	now := s.now()
	token, exp, err := s.startSession(ctx, KindOperator, o.ID, o.Role, ttl(s.OperatorTTL, DefaultOperatorTTL), now)
	if err != nil {
		return "", nil, time.Time{}, err
	}
	return token, o, exp, nil
}

// normaliseEmail trims and lower-cases an email and reports whether it is a
// bare address (no display name, no comments).
func normaliseEmail(email string) (string, bool) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" || len(email) > 254 {
		return email, false
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email {
		return email, false
	}
	_, domain, _ := strings.Cut(email, "@")
	return email, strings.Contains(domain, ".") && !strings.HasSuffix(domain, ".")
}
