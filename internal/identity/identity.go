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
	ID        string    `json:"id"`
	OpenID    string    `json:"-"` // never a credential, never shown
	UnionID   string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
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
}

// Store keeps identities. Encrypting phone and address detail is the
// store's job (at rest is a storage concern); the domain sees plain values.
type Store interface {
	// UpsertBuyer finds the buyer by openid or creates them, storing the
	// latest session_key (encrypted) and unionid.
	UpsertBuyer(ctx context.Context, openID, unionID, sessionKey string, now time.Time) (*Buyer, error)
	CreateSession(ctx context.Context, sess *Session) error
	// SessionByHash returns a session by its token hash; ErrUnauthenticated if absent.
	SessionByHash(ctx context.Context, hash string) (*Session, error)
	RevokeSession(ctx context.Context, id string, at time.Time) error

	CreateOperator(ctx context.Context, o *OperatorAccount) error // ErrEmailTaken if the email is in use
	OperatorByEmail(ctx context.Context, email string) (*OperatorAccount, error)
	Operator(ctx context.Context, id string) (*OperatorAccount, error)

	CreateAddress(ctx context.Context, a *Address) error
	Addresses(ctx context.Context, buyerID string) ([]Address, error)
	// Address returns one address of the buyer's; ErrAddressNotFound for another buyer's.
	Address(ctx context.Context, buyerID, id string) (*Address, error)
	UpdateAddress(ctx context.Context, a *Address) error
	DeleteAddress(ctx context.Context, buyerID, id string) error
}
