package pay

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestSandboxKeysShape(t *testing.T) {
	k := sandboxKeys(t)
	if k.MerchantKey.N.BitLen() != rsaBits || k.PlatformKey.N.BitLen() != rsaBits {
		t.Fatal("the keys are not RSA-2048")
	}
	if !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(k.MerchantSerial) {
		t.Errorf("merchant serial %q is not 40 hex digits", k.MerchantSerial)
	}
	if !regexp.MustCompile(`^PUB_KEY_ID_[0-9]{28}$`).MatchString(k.PlatformKeyID) {
		t.Errorf("platform key id %q is not shaped like the platform's", k.PlatformKeyID)
	}
	if len(k.APIv3Key) != 32 {
		t.Errorf("APIv3 key is %d bytes", len(k.APIv3Key))
	}
}

func TestSandboxKeysAreKeptAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "wechatpay-sandbox.pem")
	k := sandboxKeys(t)
	if err := k.Save(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".wechatpay-keys-*")); len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
	got, err := LoadOrCreateSandboxKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.MerchantKey.Equal(k.MerchantKey) || !got.PlatformKey.Equal(k.PlatformKey) ||
		got.MerchantSerial != k.MerchantSerial || got.PlatformKeyID != k.PlatformKeyID || got.APIv3Key != k.APIv3Key {
		t.Fatal("the keys read back differ from the keys saved")
	}
	if err := k.Save(path); !errors.Is(err, os.ErrExist) {
		t.Fatalf("saving over the file: %v, want os.ErrExist", err)
	}

	if err := os.WriteFile(path, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateSandboxKeys(path); err == nil {
		t.Fatal("a damaged key file was accepted (or silently replaced)")
	}
}

func TestLoadOrCreateSandboxKeysCreates(t *testing.T) {
	if testing.Short() {
		t.Skip("generates two RSA keys")
	}
	path := filepath.Join(t.TempDir(), "wechatpay-sandbox.pem")
	k1, err := LoadOrCreateSandboxKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateSandboxKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.PlatformKey.Equal(k2.PlatformKey) || k1.APIv3Key != k2.APIv3Key {
		t.Fatal("a second start made new keys")
	}
}

func TestLoadProductionKeys(t *testing.T) {
	key, _ := sdkKeys(t)
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	privPath := write("apiclient_key.pem", "PRIVATE KEY", der)
	pubPath := write("pub_key.pem", "PUBLIC KEY", pub)

	got, err := LoadPrivateKeyPEM(privPath)
	if err != nil || !got.Equal(key) {
		t.Fatalf("LoadPrivateKeyPEM = %v", err)
	}
	gotPub, err := LoadPublicKeyPEM(pubPath)
	if err != nil || !gotPub.Equal(&key.PublicKey) {
		t.Fatalf("LoadPublicKeyPEM = %v", err)
	}
	if _, err := LoadPrivateKeyPEM(pubPath); err == nil {
		t.Error("a public key loaded as the private key")
	}
	_, err = LoadPublicKeyPEM(privPath)
	if err == nil || strings.Contains(err.Error(), "BEGIN") {
		t.Errorf("a private key file as the public key: %v (must fail without quoting the file)", err)
	}
	if _, err := LoadPrivateKeyPEM(filepath.Join(dir, "missing.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}
