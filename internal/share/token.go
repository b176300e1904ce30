package share

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
)

// A token is base64url(payload) "." base64url(HMAC-SHA256(key, payload)).
// The payload is binary, not JSON: a share path travels in a share card
// and a QR code, where every character counts, and 91 bytes name
// everything a visit needs without reading the database.
//
//	0      version (1)
//	1-16   share id        17-32  sharer id
//	33     target kind     34-49  target id
//	50-65  activity id (zero: none)
//	66     depth           67-82  parent share id (zero: none)
//	83-90  created at, Unix milliseconds, big-endian
const (
	tokenVersion = 1
	payloadLen   = 91
)

// MinKeyLen is the shortest signing key accepted: as long as the MAC.
const MinKeyLen = 32

var b64 = base64.RawURLEncoding.Strict()

// Signer signs and verifies share tokens.
type Signer struct{ key []byte }

// NewSigner returns a signer with key, at least MinKeyLen bytes.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < MinKeyLen {
		return nil, errors.New("share: the signing key must be at least 32 bytes")
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

// KeyFrom derives the signing key from another secret (the data key) so
// one secret serves both without either use weakening the other.
func KeyFrom(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("siyu share token key v1"))
	return m.Sum(nil)
}

// Sign returns the token of s. Only shares this package built are signed,
// so a share that cannot be encoded is a programming error.
func (g *Signer) Sign(s *Share) (string, error) {
	if s.Depth < 1 || s.Depth > MaxDepth {
		return "", ErrDepthExceeded
	}
	p := make([]byte, payloadLen)
	p[0] = tokenVersion
	kind := kindCode(s.TargetKind)
	if kind == 0 {
		return "", errors.New("share: unknown target kind " + string(s.TargetKind))
	}
	for _, f := range []struct {
		at       int
		id       string
		optional bool
	}{{1, s.ID, false}, {17, s.SharerID, false}, {34, s.TargetID, false}, {50, s.ActivityID, true}, {67, s.ParentID, true}} {
		if f.optional && f.id == "" {
			continue
		}
		u, err := uuid.Parse(f.id)
		if err != nil {
			return "", errors.New("share: an id of the share is not a UUID")
		}
		copy(p[f.at:f.at+16], u[:])
	}
	p[33] = kind
	p[66] = byte(s.Depth)
	binary.BigEndian.PutUint64(p[83:], uint64(s.CreatedAt.UnixMilli()))
	return b64.EncodeToString(p) + "." + b64.EncodeToString(g.mac(p)), nil
}

// Verify checks a token's MAC in constant time and returns the share it
// names. Any change to the token, a wrong key, or a token cut short is
// ErrTokenInvalid.
func (g *Signer) Verify(tok string) (*Share, error) {
	ps, ms, ok := strings.Cut(tok, ".")
	if !ok || len(ps) != b64.EncodedLen(payloadLen) || len(ms) != b64.EncodedLen(sha256.Size) {
		return nil, ErrTokenInvalid
	}
	p, err := b64.DecodeString(ps)
	if err != nil {
		return nil, ErrTokenInvalid
	}
	m, err := b64.DecodeString(ms)
	if err != nil || !hmac.Equal(m, g.mac(p)) {
		return nil, ErrTokenInvalid
	}
	// Past the MAC the payload is ours; the checks below catch a payload
	// we signed under another layout, not a forgery.
	if p[0] != tokenVersion || p[66] < 1 || p[66] > MaxDepth || kindOf(p[33]) == "" {
		return nil, ErrTokenInvalid
	}
	id := func(at int) string {
		var u uuid.UUID
		copy(u[:], p[at:at+16])
		if u == uuid.Nil {
			return ""
		}
		return u.String()
	}
	return &Share{
		ID: id(1), SharerID: id(17), TargetKind: kindOf(p[33]), TargetID: id(34), ActivityID: id(50),
		Depth: int(p[66]), ParentID: id(67),
		CreatedAt: time.UnixMilli(int64(binary.BigEndian.Uint64(p[83:]))).UTC(),
	}, nil
}

func (g *Signer) mac(p []byte) []byte {
	m := hmac.New(sha256.New, g.key)
	m.Write(p)
	return m.Sum(nil)
}

// The wire code of a kind is its place in TargetKinds, from 1; 0 is none.
func kindCode(k TargetKind) byte {
	for i, v := range TargetKinds {
		if v == k {
			return byte(i + 1)
		}
	}
	return 0
}

func kindOf(c byte) TargetKind {
	if c < 1 || int(c) > len(TargetKinds) {
		return ""
	}
	return TargetKinds[c-1]
}
