package seal

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealRoundTrip(t *testing.T) {
	s, err := New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"", "13812345678", "浙江省杭州市西湖区文三路 90 号"} {
		sealed := s.Seal(plain)
		if plain != "" && strings.Contains(sealed, plain) {
			t.Fatalf("sealed value shows the plain text: %q", sealed)
		}
		got, err := s.Open(sealed)
		if err != nil || got != plain {
			t.Fatalf("Open(Seal(%q)) = %q, %v", plain, got, err)
		}
	}
	if a, b := s.Seal("x"), s.Seal("x"); a == b {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
	other, _ := New(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(s.Seal("secret")); err == nil {
		t.Fatal("a value opened with the wrong key")
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.key")
	k1, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load gave another key: %v", err)
	}
	if _, err := ParseKey("too short"); err == nil {
		t.Fatal("a short key was accepted")
	}
}
