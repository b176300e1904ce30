package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/seal"
	"github.com/siyu-commerce/siyu/internal/store/sqlite"
)

// TestIdentityPersonalDataSealed reads the raw rows: PIPL wants phone numbers
// and addresses encrypted at rest, and the session_key must not sit in the
// clear either. The conformance suite sees only decrypted values.
func TestIdentityPersonalDataSealed(t *testing.T) {
	ctx := context.Background()
	sealer, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "siyu.db")
	s, err := sqlite.Open(path, sealer)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	b, err := s.UpsertBuyer(ctx, "o-sealed", "", "c2Vzc2lvbi1rZXktc2VjcmV0", now)
	if err != nil {
		t.Fatal(err)
	}
	a := &identity.Address{ID: ids.New(), BuyerID: b.ID, Name: "张三", Phone: "13812345678",
		Province: "北京市", City: "北京市", District: "朝阳区", Detail: "建国路88号1号楼2单元301",
		CreatedAt: now, UpdatedAt: now}
	if err := s.CreateAddress(ctx, a, identity.MaxAddresses); err != nil {
		t.Fatal(err)
	}

	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var phone, detail, sessionKey string
	if err := raw.QueryRow(`SELECT phone, detail FROM addresses WHERE id = ?`, a.ID).Scan(&phone, &detail); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRow(`SELECT session_key FROM buyers WHERE id = ?`, b.ID).Scan(&sessionKey); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ column, stored, plain string }{
		{"addresses.phone", phone, a.Phone},
		{"addresses.detail", detail, a.Detail},
		{"buyers.session_key", sessionKey, "c2Vzc2lvbi1rZXktc2VjcmV0"},
	} {
		// Part of the value in the clear would be a leak too. The markers are
		// long enough, or not base64, so ciphertext never holds them by chance.
		if !strings.HasPrefix(c.stored, "v1:") || strings.Contains(c.stored, c.plain) ||
			strings.Contains(c.stored, "12345678") || strings.Contains(c.stored, "建国路") {
			t.Errorf("%s is stored readable: %q", c.column, c.stored)
		}
		if opened, err := sealer.Open(c.stored); err != nil || opened != c.plain {
			t.Errorf("%s does not open to its value: %q, %v", c.column, opened, err)
		}
	}
}
