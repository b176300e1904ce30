package share

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func TestTokenSignVerify(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	g, err := NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	sh := &Share{ID: ids.New(), SharerID: ids.New(), TargetKind: Bargain, TargetID: ids.New(),
		ActivityID: ids.New(), Depth: 2, ParentID: ids.New(),
		CreatedAt: time.Date(2031, 5, 1, 9, 0, 0, 123e6, time.UTC)}
	tok, err := g.Sign(sh)
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.Verify(tok)
	if err != nil || *got != *sh {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, sh)
	}
	// Optional ids left empty come back empty.
	root := &Share{ID: ids.New(), SharerID: ids.New(), TargetKind: PromoterPage, TargetID: ids.New(), Depth: 1,
		CreatedAt: sh.CreatedAt}
	rootTok, _ := g.Sign(root)
	if got, err := g.Verify(rootTok); err != nil || *got != *root {
		t.Fatalf("Verify root = %+v, %v", got, err)
	}

	other, _ := NewSigner(bytes.Repeat([]byte{8}, 32))
	otherTok, _ := other.Sign(sh)
	payload, mac, _ := strings.Cut(tok, ".")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for name, bad := range map[string]string{
		"empty":                 "",
		"no mac":                payload,
		"tampered payload":      flip(payload, 40) + "." + mac,
		"tampered payload tail": flip(payload, len(payload)-1) + "." + mac,
		"tampered mac":          payload + "." + flip(mac, 5),
		"tampered mac tail":     payload + "." + flip(mac, len(mac)-1),
		"wrong key":             otherTok,
		"truncated":             tok[:len(tok)-1],
		"truncated payload":     payload[:len(payload)-4] + "." + mac,
		"extended":              tok + "A",
		"padded":                payload + "=." + mac,
		"swapped":               mac + "." + payload,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := g.Verify(bad); !errs.Is(err, "share_token_invalid") {
				t.Fatalf("Verify = %v, want share_token_invalid", err)
			}
		})
	}
	// Every single-byte change anywhere in the token is refused.
	for i := range tok {
		if tok[i] == '.' {
			continue
		}
		if _, err := g.Verify(flip(tok, i)); err == nil {
			t.Fatalf("a change at %d went unnoticed", i)
		}
	}

	for _, d := range []int{0, MaxDepth + 1} {
		deep := *sh
		deep.Depth = d
		if _, err := g.Sign(&deep); !errs.Is(err, "share_depth_exceeded") {
			t.Errorf("Sign at depth %d = %v, want share_depth_exceeded", d, err)
		}
	}
	if _, err := NewSigner(key[:31]); err == nil {
		t.Error("a 31-byte key was accepted")
	}
}

func TestQRScene(t *testing.T) {
	id := "01a20130-4e31-720b-8070-aad71615af2b"
	qr := QRScene(id)
	if len(qr) != 32 {
		t.Fatalf("QRScene(%s) = %q: %d characters, WeChat allows 32", id, qr, len(qr))
	}
	if back, ok := shareIDFromQR(qr); !ok || back != id {
		t.Fatalf("shareIDFromQR(%q) = %q, %v", qr, back, ok)
	}
	for _, bad := range []string{"", "short", qr + "0", "zz" + qr[2:]} {
		if _, ok := shareIDFromQR(bad); ok {
			t.Errorf("shareIDFromQR(%q) accepted", bad)
		}
	}
}
