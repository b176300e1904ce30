// Package ids mints identifiers. siyu uses UUIDv7: time-ordered, so indexes
// stay compact, and with no central sequence, so it suits distributed SQL.
package ids

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/google/uuid"
)

// New returns a new UUIDv7 in its canonical text form.
func New() string { return uuid.Must(uuid.NewV7()).String() }

// Valid reports whether s is a canonical UUID. Handlers check ids with it so a
// malformed id is a 404, not a database error.
func Valid(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// Token returns n random bytes, hex-encoded: for session tokens and nonces.
func Token(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}
