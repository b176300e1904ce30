package postgres

// Stubs of the identity store: replaced by the real implementation.

import (
	"context"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/identity"
)

var _ = time.Time{}
var _ = context.Background

func (s *Store) UpsertBuyer(ctx context.Context, openID, unionID, sessionKey string, now time.Time) (*identity.Buyer, error) {
	return nil, errNotImplemented
}

func (s *Store) CreateSession(ctx context.Context, sess *identity.Session) error {
	return errNotImplemented
}

func (s *Store) SessionByHash(ctx context.Context, hash string) (*identity.Session, error) {
	return nil, errNotImplemented
}

func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	return errNotImplemented
}

func (s *Store) CreateOperator(ctx context.Context, o *identity.OperatorAccount) error {
	return errNotImplemented
}

func (s *Store) OperatorByEmail(ctx context.Context, email string) (*identity.OperatorAccount, error) {
	return nil, errNotImplemented
}

func (s *Store) Operator(ctx context.Context, id string) (*identity.OperatorAccount, error) {
	return nil, errNotImplemented
}

func (s *Store) CreateAddress(ctx context.Context, a *identity.Address) error {
	return errNotImplemented
}

func (s *Store) Addresses(ctx context.Context, buyerID string) ([]identity.Address, error) {
	return nil, errNotImplemented
}

func (s *Store) Address(ctx context.Context, buyerID, id string) (*identity.Address, error) {
	return nil, errNotImplemented
}

func (s *Store) UpdateAddress(ctx context.Context, a *identity.Address) error {
	return errNotImplemented
}

func (s *Store) DeleteAddress(ctx context.Context, buyerID, id string) error {
	return errNotImplemented
}

var _ = errors.New
