package app

import (
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/siyu-commerce/siyu/internal/platform/config"
	"github.com/siyu-commerce/siyu/internal/wechat/pay"
	"github.com/siyu-commerce/siyu/internal/wechat/sandbox"
)

// Sandbox defaults: a merchant number of the simulator's own and a notify
// URL whose host no request ever reaches (the in-process transport serves
// it), but which is https, as the platform requires.
const (
	sandboxMchID     = "1900000001"
	sandboxNotifyURL = "https://sandbox.invalid/callbacks/wechatpay"
)

// payGateway builds the WeChat Pay v3 client. In sandbox mode it also builds
// the simulator and points the very same client at it: the transport is the
// only sandbox-specific piece. self serves the app's own routes, for the
// simulator's callbacks.
func payGateway(cfg config.Config, opt Options, a *App, self http.Handler) (*pay.Client, *sandbox.Pay, error) {
	if cfg.Mode != config.Sandbox {
		key, err := pay.LoadPrivateKeyPEM(cfg.PayPrivateKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("SIYU_WECHATPAY_PRIVATE_KEY_FILE: %w", err)
		}
		pub, err := pay.LoadPublicKeyPEM(cfg.PayPublicKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("SIYU_WECHATPAY_PUBLIC_KEY_FILE: %w", err)
		}
		c, err := pay.New(pay.Config{
			AppID: cfg.WeChatAppID, MchID: cfg.PayMchID, CertSerial: cfg.PayCertSerial, PrivateKey: key,
			APIv3Key: cfg.PayAPIv3Key, PublicKeyID: cfg.PayPublicKeyID, PublicKey: pub,
			NotifyURL: cfg.PayNotifyURL, Clock: a.Clock,
		})
		return c, nil, err
	}
	keys, err := pay.LoadOrCreateSandboxKeys(filepath.Join(cfg.Dir(), "wechatpay-sandbox.pem"))
	if err != nil {
		return nil, nil, err
	}

	if err != nil {
		return nil, nil, err
	}
	mchID, notify := cfg.PayMchID, cfg.PayNotifyURL
	if mchID == "" {
		mchID = sandboxMchID
	}
	if notify == "" {
		notify = sandboxNotifyURL
	}
	if opt.PaySandbox != nil {
		// The platform outlives our process: a test restarting the app
		// keeps the simulator the first process talked to.
		pc := keys.Config(cfg.WeChatAppID, mchID, notify, &http.Client{Transport: sandbox.Transport(opt.PaySandbox), Timeout: pay.DefaultTimeout})
		pc.Clock = a.Clock
		c, err := pay.New(pc)
		return c, nil, err
	}
	compress := opt.PayCompress
	if compress <= 0 {
		compress = 1
	}
	sim := sandbox.NewPay(sandbox.PayConfig{
		AppID: cfg.WeChatAppID, MchID: mchID,
		MerchantSerial: keys.MerchantSerial, MerchantKey: &keys.MerchantKey.PublicKey,
		PlatformKeyID: keys.PlatformKeyID, PlatformKey: keys.PlatformKey, APIv3Key: keys.APIv3Key,
		HTTP:  &http.Client{Transport: sandbox.Transport(self), Timeout: 10 * time.Second},
		Clock: a.Clock, Compress: compress, RefundDelay: opt.RefundDelay, Log: a.Log,
	})
	pc := keys.Config(cfg.WeChatAppID, mchID, notify, &http.Client{Transport: sandbox.Transport(sim), Timeout: pay.DefaultTimeout})
	pc.Clock = a.Clock
	c, err := pay.New(pc)
	if err != nil {
		sim.Close()
		return nil, nil, err
	}
	return c, sim, nil
}
