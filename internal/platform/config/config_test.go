package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	c, err := FromEnv(env(map[string]string{
		"SIYU_ADDR": ":9090", "SIYU_DATABASE_URL": "postgres://x@localhost/db",
		"SIYU_PAY_WINDOW": "30m", "SIYU_SHIPPING_FEE": "1000",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9090" || c.PayWindow != 30*time.Minute || c.ShippingFee != 1000 || c.Mode != Sandbox {
		t.Fatalf("config not read: %+v", c)
	}
	if e, _, _ := c.Engine(); e != "postgres" {
		t.Fatalf("engine = %q", e)
	}
}

func TestFromEnvRejectsBadValues(t *testing.T) {
	_, err := FromEnv(env(map[string]string{"SIYU_PAY_WINDOW": "soon", "SIYU_SHIPPING_FEE": "-1"}))
	if err == nil || !strings.Contains(err.Error(), "SIYU_PAY_WINDOW") || !strings.Contains(err.Error(), "SIYU_SHIPPING_FEE") {
		t.Fatalf("want both bad values named, got %v", err)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"default sandbox is valid", func(*Config) {}, ""},
		{"bad database url", func(c *Config) { c.DatabaseURL = "mysql://x" }, "SIYU_DATABASE_URL"},
		{"bad mode", func(c *Config) { c.Mode = "staging" }, "SIYU_MODE"},
		{"production needs a data key and real credentials", func(c *Config) { c.Mode = Production }, "SIYU_DATA_KEY"},
		{"production needs the pay credentials", func(c *Config) {
			c.Mode, c.DataKey, c.WeChatAppID, c.WeChatAppSecret = Production, "k", "wx123", "s3cret"
		}, "SIYU_WECHATPAY_MCHID"},
		{"production with everything", func(c *Config) {
			c.Mode, c.DataKey, c.WeChatAppID, c.WeChatAppSecret = Production, "k", "wx123", "s3cret"
			c.PayMchID, c.PayCertSerial, c.PayPrivateKeyFile = "1900000001", "5157F09EFDC096DE15EBE81A47057A72", "/etc/siyu/apiclient_key.pem"
			c.PayAPIv3Key, c.PayPublicKeyID, c.PayPublicKeyFile = "0123456789abcdef0123456789abcdef", "PUB_KEY_ID_0119", "/etc/siyu/pub_key.pem"
			c.PayNotifyURL = "https://shop.example.com/callbacks/wechatpay"
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.mod(&c)
			err := c.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() = %v, want mention of %q", err, tc.want)
			}
		})
	}
}

func TestDir(t *testing.T) {
	if d := Default().Dir(); d != "siyu-data" {
		t.Fatalf("Dir = %q", d)
	}
}
