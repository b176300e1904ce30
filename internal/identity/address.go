package identity

import (
	"context"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// AddressInput is an address as a buyer submits it.
type AddressInput struct {
	Name      string
	Phone     string
	Province  string
	City      string
	District  string
	Detail    string
	IsDefault bool
}

// mainlandMobile is a mainland China mobile number: 11 digits, 1 then 3-9.
var mainlandMobile = regexp.MustCompile(`^1[3-9]\d{9}$`)

// parse turns input into an address, reporting every bad field at once.
// Phones are kept as the bare 11 digits whatever spacing or +86 prefix they
// came with, so masking and search see one form.
func (in AddressInput) parse() (Address, error) {
	var bad errs.List
	a := Address{IsDefault: in.IsDefault}
	text := func(field, v string, maxRunes int) string {
		v = strings.TrimSpace(v)
		switch n := utf8.RuneCountInString(v); {
		case n == 0:
			bad.Add(field, "required", "%s is required", field)
		case n > maxRunes:
			bad.Add(field, "too_long", "%s has at most %d characters", field, maxRunes)
		case !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0:
			// A newline in an address ends up on a shipping label and in
			// CSV exports.
			bad.Add(field, "invalid_characters", "%s has characters that cannot be printed", field)
		}
		return v
	}
	a.Name = text("name", in.Name, 30)
	a.Province = text("province", in.Province, 30)
	a.City = text("city", in.City, 30)
	a.District = text("district", in.District, 30)
	a.Detail = text("detail", in.Detail, 120)

	phone := strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(in.Phone))
	phone = strings.TrimPrefix(strings.TrimPrefix(phone, "+86"), "0086")
	if !mainlandMobile.MatchString(phone) {
		bad.Add("phone", "invalid_phone", "not a mainland China mobile number")
	}
	a.Phone = phone
	return a, bad.Err()
}

// CreateAddress adds an address to the buyer's book. The first one becomes
// the default.
func (s *Service) CreateAddress(ctx context.Context, buyerID string, in AddressInput) (*Address, error) {
	a, err := in.parse()
	if err != nil {
		return nil, err
	}
	now := s.now()
	a.ID, a.BuyerID, a.CreatedAt, a.UpdatedAt = ids.New(), buyerID, now, now
	if err := s.Store.CreateAddress(ctx, &a, MaxAddresses); err != nil {
		return nil, err
	}
	return &a, nil
}

// Addresses lists the buyer's addresses, the default first.
func (s *Service) Addresses(ctx context.Context, buyerID string) ([]Address, error) {
	return s.Store.Addresses(ctx, buyerID)
}

// Address returns one of the buyer's addresses; another buyer's is not found.
func (s *Service) Address(ctx context.Context, buyerID, id string) (*Address, error) {
	return s.Store.Address(ctx, buyerID, id)
}

// UpdateAddress replaces an address's fields with in.
func (s *Service) UpdateAddress(ctx context.Context, buyerID, id string, in AddressInput) (*Address, error) {
	next, err := in.parse()
	if err != nil {
		return nil, err
	}
	now := s.now()
	return s.Store.UpdateAddress(ctx, buyerID, id, func(a *Address) error {
		a.Name, a.Phone, a.Province, a.City, a.District, a.Detail, a.IsDefault =
			next.Name, next.Phone, next.Province, next.City, next.District, next.Detail, next.IsDefault
		a.UpdatedAt = now
		return nil
	})
}

// DeleteAddress removes one of the buyer's addresses.
func (s *Service) DeleteAddress(ctx context.Context, buyerID, id string) error {
	return s.Store.DeleteAddress(ctx, buyerID, id)
}

// ShipTo is the address an order ships to, checked to be the buyer's; the
// order domain copies it into the order, so later edits of the address book
// do not move goods already on their way.
func (s *Service) ShipTo(ctx context.Context, buyerID, addressID string) (Address, error) {
	a, err := s.Store.Address(ctx, buyerID, addressID)
	if err != nil {
		return Address{}, err
	}
	return *a, nil
}
