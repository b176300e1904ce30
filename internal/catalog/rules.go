package catalog

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
)

// The rules an operator's input must keep. Each check adds what it finds to
// a list, so one request learns every fault at once.

// Input limits. MaxPrice is ten million yuan: far above anything a brand
// shop sells, low enough that price x quantity never nears int64's limit.
const (
	MaxTitle        = 100
	MaxSubtitle     = 200
	MaxDescription  = 20000
	MaxCategoryName = 50
	MaxSKUs         = 100
	MaxSpecs        = 5
	MaxSpecText     = 40
	MaxCode         = 64
	MaxImages       = 20
	MaxImageURL     = 1024
	MaxChannels     = 10
	MaxQuery        = 100
	MaxPrice        = money.Fen(10_000_000_00)

	DefaultLimit = 20
	MaxLimit     = 100
)

var channelName = regexp.MustCompile(`^[a-z_]{1,32}$`)

func checkProductFields(l *errs.List, p *Product) {
	checkText(l, "title", p.Title, 1, MaxTitle)
	checkText(l, "subtitle", p.Subtitle, 0, MaxSubtitle)
	checkText(l, "description", p.Description, 0, MaxDescription)
	if !p.Status.Valid() {
		l.Add("status", "invalid_status", "status is draft, on_sale or off_sale")
	}
	if len(p.Images) > MaxImages {
		l.Add("images", "too_many_images", "at most %d images", MaxImages)
	}
	for i, img := range p.Images {
		if !imageURL(img) {
			l.Add(fmt.Sprintf("images[%d]", i), "invalid_url", "an image is an http or https URL")
		}
	}
}

func checkSKU(l *errs.List, path string, sku *SKU) {
	checkText(l, path+".code", sku.Code, 0, MaxCode)
	if len(sku.Specs) > MaxSpecs {
		l.Add(path+".specs", "too_many_specs", "a SKU has at most %d specs", MaxSpecs)
	}
	names := map[string]bool{}
	for j, sp := range sku.Specs {
		sp0 := fmt.Sprintf("%s.specs[%d]", path, j)
		checkText(l, sp0+".name", sp.Name, 1, MaxSpecText)
		checkText(l, sp0+".value", sp.Value, 1, MaxSpecText)
		if names[sp.Name] {
			l.Add(sp0+".name", "duplicate_spec", "spec %q appears twice", sp.Name)
		}
		names[sp.Name] = true
	}
	listOK := checkPrice(l, path+".list_price", sku.ListPrice)
	saleOK := checkPrice(l, path+".sale_price", sku.SalePrice)
	if listOK && saleOK && sku.SalePrice > sku.ListPrice {
		l.Add(path+".sale_price", "above_list_price", "the sale price is at most the list price")
	}
	if len(sku.ChannelPrices) > MaxChannels {
		l.Add(path+".channel_prices", "too_many_channels", "at most %d channels", MaxChannels)
	}
	// Sorted, so the same input reports its faults in the same order.
	for _, ch := range slices.Sorted(maps.Keys(sku.ChannelPrices)) {
		field := path + ".channel_prices." + ch
		if !channelName.MatchString(ch) {
			l.Add(path+".channel_prices", "invalid_channel", "channel %q is not 1-32 of a-z and _", ch)
			continue
		}
		checkPrice(l, field, sku.ChannelPrices[ch])
	}
}

// checkSpecCombos refuses two SKUs of one product with the same specs: a
// buyer could not tell them apart. Order does not matter: colour=red,
// size=XL is size=XL, colour=red.
func checkSpecCombos(l *errs.List, skus []SKU, path func(i int) string) {
	seen := map[string]bool{}
	for i, sku := range skus {
		parts := make([]string, len(sku.Specs))
		for j, sp := range sku.Specs {
			parts[j] = sp.Name + "\x00" + sp.Value
		}
		slices.Sort(parts)
		key := strings.Join(parts, "\x01")
		if seen[key] {
			l.Add(path(i), "duplicate_specs", "another SKU of the product has the same specs")
		}
		seen[key] = true
	}
}

func checkText(l *errs.List, field, v string, lo, hi int) {
	n := utf8.RuneCountInString(v)
	switch {
	case !utf8.ValidString(v):
		l.Add(field, "invalid_text", "not valid UTF-8")
	case n == 0 && lo > 0:
		l.Add(field, "required", "required")
	case n < lo || n > hi:
		l.Add(field, "length_out_of_range", "%d to %d characters", lo, hi)
	}
}

func checkPrice(l *errs.List, field string, v money.Fen) bool {
	if v < 0 || v > MaxPrice {
		l.Add(field, "price_out_of_range", "a price is 0 to %d fen", int64(MaxPrice))
		return false
	}
	return true
}

func imageURL(s string) bool {
	if len(s) > MaxImageURL {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func minPrice(skus []SKU) money.Fen {
	if len(skus) == 0 {
		return 0
	}
	m := skus[0].SalePrice
	for _, s := range skus[1:] {
		m = min(m, s.SalePrice)
	}
	return m
}
