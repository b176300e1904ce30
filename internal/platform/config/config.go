// Package config reads siyu's settings from SIYU_* environment variables,
// which command-line flags may override. Defaults run the embedded shop:
// SQLite in ./siyu-data, sandbox WeChat, in-process counters and events.
package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
)

// Modes.
const (
	Sandbox    = "sandbox"    // built-in simulators for WeChat login and pay
	Production = "production" // real credentials required, simulators refused
)

// Config is every setting.
type Config struct {
	Addr        string // SIYU_ADDR
	DatabaseURL string // SIYU_DATABASE_URL: sqlite:PATH or postgres://...
	RedisURL    string // SIYU_REDIS_URL (hot counters; later capabilities)
	NATSURL     string // SIYU_NATS_URL (event relay; later capabilities)
	Mode        string // SIYU_MODE
	DataDir     string // SIYU_DATA_DIR: sandbox key file, demo credentials
	DataKey     string // SIYU_DATA_KEY: 32-byte key (hex or base64) encrypting personal data
	ShareKey    string // SIYU_SHARE_KEY: 32-byte key signing share links; default derived from the data key
	LogLevel    string // SIYU_LOG_LEVEL: debug, info, warn, error

	WeChatAppID     string // SIYU_WECHAT_APPID
	WeChatAppSecret string // SIYU_WECHAT_SECRET
	WeChatAPIBase   string // SIYU_WECHAT_API_BASE

	// WeChat Pay API v3. In sandbox mode all of these are generated (kept in
	// the data directory) and the client talks to the built-in simulator.
	PayMchID          string   // SIYU_WECHATPAY_MCHID
	PayCertSerial     string   // SIYU_WECHATPAY_CERT_SERIAL: the merchant API certificate's serial
	PayPrivateKeyFile string   // SIYU_WECHATPAY_PRIVATE_KEY_FILE: the merchant API private key (PEM)
	PayAPIv3Key       string   // SIYU_WECHATPAY_APIV3_KEY: 32 bytes, decrypts callbacks
	PayPublicKeyID    string   // SIYU_WECHATPAY_PUBLIC_KEY_ID: the platform public key's id ("PUB_KEY_ID_...")
	PayPublicKeyFile  string   // SIYU_WECHATPAY_PUBLIC_KEY_FILE: the platform public key (PEM), verifies responses and callbacks
	PayNotifyURL      string   // SIYU_WECHATPAY_NOTIFY_URL: public base URL of /callbacks/wechatpay
	PayFeeBP          money.BP // SIYU_WECHATPAY_FEE_BP: the platform's fee rate in basis points

	PayWindow        time.Duration // SIYU_PAY_WINDOW: unpaid orders close after it
	AutoConfirm      time.Duration // SIYU_AUTO_CONFIRM: receipt confirms itself after it
	ShippingFee      money.Fen     // SIYU_SHIPPING_FEE (fen)
	FreeShippingOver money.Fen     // SIYU_FREE_SHIPPING_OVER (fen; 0 = never free)
	MaxBody          int64         // SIYU_MAX_BODY (bytes)
}

// Default is the configuration with nothing set.
func Default() Config {
	return Config{
		Addr:             ":8080",
		DatabaseURL:      "sqlite:./siyu-data/siyu.db",
		Mode:             Sandbox,
		LogLevel:         "info",
		WeChatAppID:      "wxsandbox0000000",
		WeChatAppSecret:  "sandbox-secret",
		WeChatAPIBase:    "https://api.weixin.qq.com",
		PayWindow:        15 * time.Minute,
		AutoConfirm:      7 * 24 * time.Hour,
		ShippingFee:      800,
		FreeShippingOver: 9900,
		MaxBody:          1 << 20,
		PayFeeBP:         60, // WeChat Pay's standard rate for physical goods, 0.6%
	}
}

// FromEnv reads the configuration from getenv (os.Getenv in main).
func FromEnv(getenv func(string) string) (Config, error) {
	c := Default()
	var errs []error
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	dur := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a positive duration like 15m", name, v))
				return
			}
			*dst = d
		}
	}
	fen := func(name string, dst *money.Fen) {
		if v := getenv(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a whole number of fen >= 0", name, v))
				return
			}
			*dst = money.Fen(n)
		}
	}
	str("SIYU_ADDR", &c.Addr)
	str("SIYU_DATABASE_URL", &c.DatabaseURL)
	str("SIYU_REDIS_URL", &c.RedisURL)
	str("SIYU_NATS_URL", &c.NATSURL)
	str("SIYU_MODE", &c.Mode)
	str("SIYU_DATA_DIR", &c.DataDir)
	str("SIYU_DATA_KEY", &c.DataKey)
	str("SIYU_SHARE_KEY", &c.ShareKey)
	str("SIYU_LOG_LEVEL", &c.LogLevel)
	str("SIYU_WECHAT_APPID", &c.WeChatAppID)
	str("SIYU_WECHAT_SECRET", &c.WeChatAppSecret)
	str("SIYU_WECHAT_API_BASE", &c.WeChatAPIBase)
	str("SIYU_WECHATPAY_MCHID", &c.PayMchID)
	str("SIYU_WECHATPAY_CERT_SERIAL", &c.PayCertSerial)
	str("SIYU_WECHATPAY_PRIVATE_KEY_FILE", &c.PayPrivateKeyFile)
	str("SIYU_WECHATPAY_APIV3_KEY", &c.PayAPIv3Key)
	str("SIYU_WECHATPAY_PUBLIC_KEY_ID", &c.PayPublicKeyID)
	str("SIYU_WECHATPAY_PUBLIC_KEY_FILE", &c.PayPublicKeyFile)
	str("SIYU_WECHATPAY_NOTIFY_URL", &c.PayNotifyURL)
	if v := getenv("SIYU_WECHATPAY_FEE_BP"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > 1000 {
			errs = append(errs, fmt.Errorf("SIYU_WECHATPAY_FEE_BP=%q: want basis points 0..1000", v))
		} else {
			c.PayFeeBP = money.BP(n)
		}
	}
	dur("SIYU_PAY_WINDOW", &c.PayWindow)
	dur("SIYU_AUTO_CONFIRM", &c.AutoConfirm)
	fen("SIYU_SHIPPING_FEE", &c.ShippingFee)
	fen("SIYU_FREE_SHIPPING_OVER", &c.FreeShippingOver)
	if v := getenv("SIYU_MAX_BODY"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 {
			errs = append(errs, fmt.Errorf("SIYU_MAX_BODY=%q: want a number of bytes >= 1024", v))
		} else {
			c.MaxBody = n
		}
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return c, nil
}

// Engine returns "sqlite" or "postgres" and the engine's address.
func (c Config) Engine() (engine, addr string, err error) {
	switch {
	case strings.HasPrefix(c.DatabaseURL, "sqlite:"):
		p := strings.TrimPrefix(c.DatabaseURL, "sqlite:")
		if p == "" {
			return "", "", errors.New("SIYU_DATABASE_URL: sqlite: needs a file path")
		}
		return "sqlite", p, nil
	case strings.HasPrefix(c.DatabaseURL, "postgres://"), strings.HasPrefix(c.DatabaseURL, "postgresql://"):
		return "postgres", c.DatabaseURL, nil
	}
	return "", "", fmt.Errorf("SIYU_DATABASE_URL=%q: want sqlite:PATH or postgres://...", c.DatabaseURL)
}

// Dir is where the process keeps its own files: SIYU_DATA_DIR, else the
// directory of the SQLite file, else ./siyu-data.
func (c Config) Dir() string {
	if c.DataDir != "" {
		return c.DataDir
	}
	if e, p, err := c.Engine(); err == nil && e == "sqlite" {
		return filepath.Dir(p)
	}
	return "siyu-data"
}

// Validate checks the configuration is complete for its mode.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := c.Engine(); err != nil {
		errs = append(errs, err)
	}
	switch c.Mode {
	case Sandbox:
	case Production:
		// Production talks to the real platform with real money: nothing
		// may fall back to a simulator or a generated key.
		if c.DataKey == "" {
			errs = append(errs, errors.New("SIYU_DATA_KEY is required in production mode"))
		}
		if c.WeChatAppID == Default().WeChatAppID || c.WeChatAppSecret == Default().WeChatAppSecret {
			errs = append(errs, errors.New("SIYU_WECHAT_APPID and SIYU_WECHAT_SECRET are required in production mode"))
		}
		for name, v := range map[string]string{
			"SIYU_WECHATPAY_MCHID": c.PayMchID, "SIYU_WECHATPAY_CERT_SERIAL": c.PayCertSerial,
			"SIYU_WECHATPAY_PRIVATE_KEY_FILE": c.PayPrivateKeyFile, "SIYU_WECHATPAY_APIV3_KEY": c.PayAPIv3Key,
			"SIYU_WECHATPAY_PUBLIC_KEY_ID": c.PayPublicKeyID, "SIYU_WECHATPAY_PUBLIC_KEY_FILE": c.PayPublicKeyFile,
			"SIYU_WECHATPAY_NOTIFY_URL": c.PayNotifyURL,
		} {
			if v == "" {
				errs = append(errs, fmt.Errorf("%s is required in production mode", name))
			}
		}
		if c.PayAPIv3Key != "" && len(c.PayAPIv3Key) != 32 {
			errs = append(errs, errors.New("SIYU_WECHATPAY_APIV3_KEY must be 32 characters"))
		}
	default:
		errs = append(errs, fmt.Errorf("SIYU_MODE=%q: want sandbox or production", c.Mode))
	}
	return errors.Join(errs...)
}
