package identity

import "github.com/siyu-commerce/siyu/internal/errs"

var (
	// ErrUnauthenticated covers a missing, unknown, expired and revoked
	// token alike, so a caller learns nothing about which one it was.
	ErrUnauthenticated = errs.E(errs.Unauthorized, "unauthenticated", "sign in first")
	// ErrInvalidCredentials is the one answer to a wrong email and a wrong
	// password, so the login form does not tell which emails exist.
	ErrInvalidCredentials = errs.E(errs.Unauthorized, "invalid_credentials", "wrong email or password")
	ErrInvalidLoginCode   = errs.E(errs.Unauthorized, "invalid_login_code", "the login code is invalid or was already used")
	ErrEmailTaken         = &errs.Error{Kind: errs.Conflict, Code: "email_taken", Field: "email", Message: "an operator with this email exists"}
	ErrOperatorNotFound   = errs.E(errs.NotFound, "operator_not_found", "no such operator")
	ErrBuyerNotFound      = errs.E(errs.NotFound, "buyer_not_found", "no such buyer")
	ErrAddressNotFound    = errs.E(errs.NotFound, "address_not_found", "no such address")
	ErrAddressLimit       = errs.E(errs.Conflict, "address_limit", "a buyer keeps at most %d addresses", MaxAddresses)
)
