package identity

import (
	"context"
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	ctx := context.Background()
	h1, err := hashPassword(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	h2, err := hashPassword(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not argon2id in PHC form with the default costs", h1)
	}
	if h1 == h2 {
		t.Fatal("two hashes of one password are equal: the salt is not per password")
	}
	for _, tc := range []struct {
		password string
		want     bool
	}{
		{"correct horse battery", true},
		{"correct horse batterY", false},
		{"", false},
	} {
		ok, err := verifyPassword(ctx, h1, tc.password)
		if err != nil || ok != tc.want {
			t.Errorf("verify(%q) = %v, %v; want %v", tc.password, ok, err, tc.want)
		}
	}
	if ok, err := verifyPassword(ctx, dummyHash, "anything at all"); ok || err != nil {
		t.Fatalf("the dummy hash matched or failed: %v, %v", ok, err)
	}
}

func TestPasswordHashRejectsBadPHC(t *testing.T) {
	for _, h := range []string{
		"",
		"plain",
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", // asks for ~100 GiB
		"$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
	} {
		if ok, err := verifyPassword(context.Background(), h, "x"); ok || err == nil {
			t.Errorf("verify against %q = %v, %v; want an error", h, ok, err)
		}
	}
}
