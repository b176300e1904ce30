// Package cursor is the format of keyset-pagination cursors, shared by the
// store engines so a cursor means the same thing on either. A cursor names
// the last row a page returned by its sort key and id; the next page starts
// strictly after that pair, so rows inserted meanwhile never shift a page
// (as OFFSET would) and no row is returned twice. It is opaque to clients:
// base64url over a small text form they should not build themselves.
package cursor

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// ErrBad is returned for a cursor this package did not make for the same
// ordering. Callers turn it into their domain's invalid-cursor error.
var ErrBad = errors.New("cursor: not a cursor of this listing")

// Encode makes the cursor after a row: order names the listing's ordering
// (so a cursor of one ordering is refused by another), key is the row's sort
// key as an integer (a price in fen, a time in microseconds), id its id.
func Encode(order string, key int64, id string) string {
	raw := order + "|" + strconv.FormatInt(key, 10) + "|" + id
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// Decode reads a cursor made by Encode for the same order. The id is checked
// to be a UUID, so a forged cursor cannot reach the database as anything but
// a well-formed value.
func Decode(order, s string) (key int64, id string, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, "", ErrBad
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 3 || parts[0] != order || !ids.Valid(parts[2]) {
		return 0, "", ErrBad
	}
	key, err = strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return 0, "", ErrBad
	}
	return key, parts[2], nil
}

// Page cuts rows, read one past the page size to learn whether more follow,
// down to the page, and returns the cursor after its last row ("" when no
// page follows). key gives a row's sort key and id, as Encode takes them.
func Page[T any](order string, rows []T, limit int, key func(*T) (int64, string)) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	k, id := key(&rows[limit-1])
	return rows, Encode(order, k, id)
}
