package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/groupbuy"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// OwnerEmail is the demo owner's login.
const OwnerEmail = "owner@demo.siyu.local"

// Services are what seeding uses: the same services the API calls, so the
// demo data passes every rule real data does.
type Services struct {
	Catalog   *catalog.Service
	Inventory *inventory.Service
	Identity  *identity.Service
	// GroupBuys and Bargains, when set, get one published activity each.
	GroupBuys *groupbuy.Service
	Bargains  *bargain.Service
	Now       func() time.Time // the clock the activities' windows start from
}

// Result says what Seed did.
type Result struct {
	Seeded        bool   // false: the shop already had a catalogue
	Products      int    // products in the demo catalogue
	GroupBuyID    string // the demo group buy, when seeded now
	BargainID     string // the demo bargain activity, when seeded now
	OwnerEmail    string //
	OwnerPassword string // kept in the data directory so every run can print it
}

// Seed fills an empty shop with the demo catalogue and stock, and makes sure
// the demo owner exists. A shop that has categories already is left as it
// is, so running the demo twice seeds nothing twice. dir keeps the owner's
// generated password (mode 0600).
func Seed(ctx context.Context, s Services, dir string) (Result, error) {
	res := Result{OwnerEmail: OwnerEmail}
	pw, err := ownerPassword(dir)
	if err != nil {
		return res, err
	}
	res.OwnerPassword = pw
	if _, err := s.Identity.CreateOperator(ctx, OwnerEmail, pw, identity.Owner); err != nil && !errs.Is(err, "email_taken") {
		return res, fmt.Errorf("demo owner: %w", err)
	}
	existing, err := s.Catalog.Categories(ctx)
	if err != nil {
		return res, err
	}
	for _, c := range catalogue {
		res.Products += len(c.products)
	}
	if len(existing) > 0 {
		return res, nil
	}
	for i, c := range catalogue {
		cat, err := s.Catalog.CreateCategory(ctx, catalog.NewCategory{Name: c.name, Sort: i})
		if err != nil {
			return res, fmt.Errorf("category %s: %w", c.name, err)
		}
		for _, p := range c.products {
			if err := seedProduct(ctx, s, cat.ID, p); err != nil {
				return res, fmt.Errorf("product %s: %w", p.title, err)
			}
		}
	}
	if s.GroupBuys != nil && s.Bargains != nil && s.Now != nil {
		if res.GroupBuyID, res.BargainID, err = seedActivities(ctx, s, s.Now()); err != nil {
			return res, err
		}
	}
	res.Seeded = true
	return res, nil
}

func seedProduct(ctx context.Context, s Services, categoryID string, p product) error {
	in := catalog.NewProduct{
		CategoryID: categoryID, Title: p.title, Subtitle: p.subtitle,
		Images: []string{p.image}, Status: catalog.OnSale,
	}
	for _, k := range p.skus {
		ns := catalog.NewSKU{ListPrice: k.list, SalePrice: k.sale}
		for _, sp := range k.specs {
			ns.Specs = append(ns.Specs, catalog.Spec{Name: sp[0], Value: sp[1]})
		}
		if k.tmallDiff != 0 {
			ns.ChannelPrices = map[string]money.Fen{"tmall": k.sale + k.tmallDiff}
		}
		in.SKUs = append(in.SKUs, ns)
	}
	prod, err := s.Catalog.CreateProduct(ctx, in)
	if err != nil {
		return err
	}
	for i, k := range p.skus {
		if _, err := s.Inventory.Adjust(ctx, prod.SKUs[i].ID, inventory.Online, k.stock, inventory.Receive, "demo seed"); err != nil {
			return err
		}
	}
	return nil
}

// ownerPassword reads the demo owner's password from dir, or makes one.
func ownerPassword(dir string) (string, error) {
	path := filepath.Join(dir, "demo-owner-password")
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	pw := "demo-" + ids.Token(8)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return pw, os.WriteFile(path, []byte(pw+"\n"), 0o600)
}
