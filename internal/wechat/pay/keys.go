package pay

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"

	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// SandboxKeys are the credentials a sandbox shop and its simulator share:
// the merchant key pair (the shop signs, the simulator verifies), the
// platform key pair (the simulator signs, the shop verifies) and the APIv3
// key. They are made once and kept in the data directory, so callbacks the
// simulator signed before a restart still verify after it.
type SandboxKeys struct {
	MerchantKey    *rsa.PrivateKey
	MerchantSerial string // shaped like a merchant certificate serial: 40 hex digits
	PlatformKey    *rsa.PrivateKey
	PlatformKeyID  string // shaped like a platform public key id: PUB_KEY_ID_ and digits
	APIv3Key       string // 32 characters
}

// rsaBits is what WeChat Pay issues and accepts (WECHATPAY2-SHA256-RSA2048).
const rsaBits = 2048

// GenerateSandboxKeys makes a fresh set.
func GenerateSandboxKeys() (SandboxKeys, error) {
	var k SandboxKeys
	var err error
	if k.MerchantKey, err = rsa.GenerateKey(rand.Reader, rsaBits); err != nil {
		return SandboxKeys{}, err
	}
	if k.PlatformKey, err = rsa.GenerateKey(rand.Reader, rsaBits); err != nil {
		return SandboxKeys{}, err
	}
	serial := make([]byte, 20)
	apiKey := make([]byte, 16)
	if _, err := rand.Read(serial); err != nil {
		return SandboxKeys{}, err
	}
	if _, err := rand.Read(apiKey); err != nil {
		return SandboxKeys{}, err
	}
	id, err := rand.Int(rand.Reader, new(big.Int).Exp(big.NewInt(10), big.NewInt(28), nil))
	if err != nil {
		return SandboxKeys{}, err
	}
	k.MerchantSerial = fmt.Sprintf("%X", serial)
	k.PlatformKeyID = fmt.Sprintf("PUB_KEY_ID_%028d", id)
	// 128 random bits written as 32 hex characters: the 32-byte key
	// AES-256 takes, with the printable alphabet the merchant platform
	// uses.
	k.APIv3Key = hex.EncodeToString(apiKey)
	return k, nil
}

// Config is the client configuration that talks to a simulator holding
// these keys.
func (k SandboxKeys) Config(appID, mchID, notifyURL string, hc *http.Client) Config {
	return Config{
		AppID: appID, MchID: mchID,
		CertSerial: k.MerchantSerial, PrivateKey: k.MerchantKey,
		APIv3Key:    k.APIv3Key,
		PublicKeyID: k.PlatformKeyID, PublicKey: &k.PlatformKey.PublicKey,
		NotifyURL: notifyURL, HTTP: hc,
	}
}

// PEM block types and headers of the sandbox key file.
const (
	pemPrivateKey = "PRIVATE KEY"
	pemAPIv3Key   = "WECHATPAY APIV3 KEY"
	headerRole    = "Role"
	headerID      = "Id"
)

// Marshal writes the keys as PEM: the two private keys (PKCS #8, their
// serial or id in a header) and the APIv3 key.
func (k SandboxKeys) Marshal() ([]byte, error) {
	if k.MerchantKey == nil || k.PlatformKey == nil || k.MerchantSerial == "" || k.PlatformKeyID == "" || len(k.APIv3Key) != 32 {
		return nil, errors.New("wechat pay: incomplete sandbox keys")
	}
	var out []byte
	for _, b := range []struct {
		role, id string
		key      *rsa.PrivateKey
	}{{"merchant", k.MerchantSerial, k.MerchantKey}, {"platform", k.PlatformKeyID, k.PlatformKey}} {
		der, err := x509.MarshalPKCS8PrivateKey(b.key)
		if err != nil {
			return nil, err
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Headers: map[string]string{headerRole: b.role, headerID: b.id}, Bytes: der})...)
	}
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: pemAPIv3Key, Bytes: []byte(k.APIv3Key)})...)
	return out, nil
}

// ParseSandboxKeys reads what Marshal wrote.
func ParseSandboxKeys(b []byte) (SandboxKeys, error) {
	var k SandboxKeys
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case pemAPIv3Key:
			k.APIv3Key = string(blk.Bytes)
		case pemPrivateKey:
			key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return SandboxKeys{}, fmt.Errorf("wechat pay: sandbox %s key: %w", blk.Headers[headerRole], err)
			}
			rk, ok := key.(*rsa.PrivateKey)
			if !ok {
				return SandboxKeys{}, fmt.Errorf("wechat pay: sandbox %s key is not RSA", blk.Headers[headerRole])
			}
			switch blk.Headers[headerRole] {
			case "merchant":
				k.MerchantKey, k.MerchantSerial = rk, blk.Headers[headerID]
			case "platform":
				k.PlatformKey, k.PlatformKeyID = rk, blk.Headers[headerID]
			}
		}
	}
	if _, err := k.Marshal(); err != nil {
		return SandboxKeys{}, err
	}
	return k, nil
}

// LoadOrCreateSandboxKeys reads the keys at path, or makes a set and writes
// it there (mode 0600) if there is no file. Two processes starting together
// end up with the same keys: the file is created exclusively and the loser
// reads the winner's.
func LoadOrCreateSandboxKeys(path string) (SandboxKeys, error) {
	if b, err := os.ReadFile(path); err == nil {
		k, err := ParseSandboxKeys(b)
		if err != nil {
			return SandboxKeys{}, fmt.Errorf("%s: %w", path, err)
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return SandboxKeys{}, err
	}
	k, err := GenerateSandboxKeys()
	if err != nil {
		return SandboxKeys{}, err
	}
	if err := k.Save(path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return LoadOrCreateSandboxKeys(path)
		}
		return SandboxKeys{}, err
	}
	return k, nil
}

// Save writes the keys to path, mode 0600, refusing to replace a file (the
// error is then os.ErrExist). It writes a temporary file and links it into
// place, so a crash never leaves half a key file for the next start to
// choke on.
func (k SandboxKeys) Save(path string) error {
	b, err := k.Marshal()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".wechatpay-keys-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Link(tmp, path)
}

// LoadPrivateKeyPEM reads the merchant API private key (apiclient_key.pem,
// PKCS #8) from a file.
func LoadPrivateKeyPEM(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := utils.LoadPrivateKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// LoadPublicKeyPEM reads the platform public key (pub_key.pem, as the
// merchant platform hands it out) from a file.
func LoadPublicKeyPEM(path string) (*rsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := utils.LoadPublicKey(string(b))
	if err != nil {
		// The SDK's message quotes the whole PEM; a public key is no
		// secret, but a wrong file might be.
		return nil, fmt.Errorf("%s: not an RSA public key in PEM (PUBLIC KEY)", path)
	}
	return k, nil
}
