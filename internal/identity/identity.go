// Package identity owns who is calling: buyers (logged in the mini-program
// way, by a one-time code exchanged through code2Session), their sessions
// (opaque random tokens stored only as hashes, with a TTL, revocable), their
// addresses (phone and address encrypted at rest, masked for operators), and
// operator accounts with passwords and roles.
//
// The WeChat session_key is kept server-side only: it never appears in a
// response or a log, and the openid is never a credential.
package identity

import (
	"context"
	"time"
)

// Role is an operator's role; every admin route names the roles it allows.
type Role string

const (
	Owner    Role = "owner"
	Operator Role = "operator"
	Finance  Role = "finance"
	Reviewer Role = "reviewer"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == Owner || r == Operator || r == Finance || r == Reviewer }

// Buyer is a shopper known by their openid.
type Buyer struct {
	ID          string    `json:"id"`
	OpenID      string    `json:"-"` // never a credential, never shown
	UnionID     string    `json:"-"`
	CreatedAt   time.Time `json:"created_at"`
	LastLoginAt time.Time `json:"last_login_at"`
}

// OperatorAccount is a console user.
type OperatorAccount struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	Role         Role      `json:"role"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
}

// PrincipalKind says whether a session is a buyer's or an operator's.
type PrincipalKind string

const (
	KindBuyer    PrincipalKind = "buyer"
	KindOperator PrincipalKind = "operator"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	Kind      PrincipalKind
	ID        string // buyer id or operator id
	Role      Role   // operators only
	SessionID string
}

// Session is a stored session: only the token's hash is kept.
type Session struct {
	ID        string
	TokenHash string
	Kind      PrincipalKind
	SubjectID string
	Role      Role
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// MaxAddresses is how many addresses one buyer may keep; the limit bounds
// what one account can store (and what an abusive one can make us encrypt).
const MaxAddresses = 20

// Address is a buyer's delivery address. Phone and Detail are stored
// encrypted; Masked returns what an operator may see.
type Address struct {
	ID        string    `json:"id"`
	BuyerID   string    `json:"-"`
	Name      string    `json:"name"`
	Phone     string    `json:"phone"`
	Province  string    `json:"province"`
	City      string    `json:"city"`
	District  string    `json:"district"`
	Detail    string    `json:"detail"`
	IsDefault bool      `json:"is_default"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// WeChatSession is what code2Session answers. It is declared here, not in
// internal/wechat, so the domain depends on no HTTP client: the wechat
// package's Session is an alias of it, and its LoginClient satisfies WeChat
// as it is.
type WeChatSession struct {
	OpenID     string
	UnionID    string // empty unless the mini program is bound to an open platform account
	SessionKey string `json:"-"` // server-side only (DOMAIN.md, Payments and login)
}

// String keeps the session_key out of logs and error messages that format
// the value with %v.
func (s WeChatSession) String() string {
	return "{OpenID:" + s.OpenID + " UnionID:" + s.UnionID + " SessionKey:[redacted]}"
}

// GoString does the same for %#v.
func (s WeChatSession) GoString() string { return s.String() }

// WeChat exchanges a mini program's one-time login code.
type WeChat interface {
	Code2Session(ctx context.Context, code string) (WeChatSession, error)
}

// Store keeps identities. Encrypting phone, address detail and the
// session_key is the store's job (at rest is a storage concern); the domain
// sees plain values.
type Store interface {
	// UpsertBuyer finds the buyer by openid or creates them, storing the
	// latest session_key (encrypted), the unionid when one is given, and
	// now as the last login. Two concurrent calls for a new openid yield
	// one buyer.
	UpsertBuyer(ctx context.Context, openID, unionID, sessionKey string, now time.Time) (*Buyer, error)
	// Buyer returns a buyer by id; ErrBuyerNotFound if absent.
	Buyer(ctx context.Context, id string) (*Buyer, error)

	CreateSession(ctx context.Context, sess *Session) error
	// SessionByHash returns a session by its token hash, revoked or expired
	// ones included (the caller judges them); ErrUnauthenticated if absent.
	SessionByHash(ctx context.Context, hash string) (*Session, error)
	// RevokeSession marks a session revoked; revoking twice keeps the
	// first time, and an unknown id is not an error.
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// PurgeSessions deletes sessions that expired before the cutoff.
	PurgeSessions(ctx context.Context, before time.Time) (int, error)

	CreateOperator(ctx context.Context, o *OperatorAccount) error // ErrEmailTaken if the email is in use
	// OperatorByEmail and Operator return ErrOperatorNotFound if absent.
	OperatorByEmail(ctx context.Context, email string) (*OperatorAccount, error)
	Operator(ctx context.Context, id string) (*OperatorAccount, error)

	// CreateAddress adds an address in one transaction that keeps the
	// buyer's addresses consistent: ErrAddressLimit if they already have
	// limit of them; the first one becomes the default; a new default
	// clears the old one.
	CreateAddress(ctx context.Context, a *Address, limit int) error
	// Addresses lists a buyer's addresses, the default first, then newest.
	Addresses(ctx context.Context, buyerID string) ([]Address, error)
	// Address returns one address of the buyer's; ErrAddressNotFound for
	// another buyer's, or for an id that is not one.
	Address(ctx context.Context, buyerID, id string) (*Address, error)
	// UpdateAddress loads the buyer's address, lets fn change it and saves
	// it in one transaction; if it becomes the default, the old default
	// stops being one. ErrAddressNotFound as for Address.
	UpdateAddress(ctx context.Context, buyerID, id string, fn func(*Address) error) (*Address, error)
	// DeleteAddress removes the buyer's address; ErrAddressNotFound as for
	// Address. Deleting the default leaves the buyer without one.
	DeleteAddress(ctx context.Context, buyerID, id string) error
}
