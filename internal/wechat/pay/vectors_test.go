package pay

import (
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/siyu-commerce/siyu/internal/errs"
)

// The SDK's published test vectors (github.com/wechatpay-apiv3/wechatpay-go
// v0.2.21), reproduced as public test data. The certificate of the notify
// vector and the private key of the signer vector are one key pair, which
// lets the AES vector be wrapped in a callback signed by that key.

// sdkCertificate, sdkNotify*: core/notify/notify_test.go,
// TestHandler_ParseNotifyRequest.
const (
	sdkCertificate = `-----BEGIN CERTIFICATE-----
MIIDVzCCAj+gAwIBAgIJANfOWdH1ItcBMA0GCSqGSIb3DQEBCwUAMEIxCzAJBgNV
BAYTAlhYMRUwEwYDVQQHDAxEZWZhdWx0IENpdHkxHDAaBgNVBAoME0RlZmF1bHQg
Q29tcGFueSBMdGQwHhcNMjEwNDI3MDg1NTIzWhcNMzEwNDI1MDg1NTIzWjBCMQsw
CQYDVQQGEwJYWDEVMBMGA1UEBwwMRGVmYXVsdCBDaXR5MRwwGgYDVQQKDBNEZWZh
dWx0IENvbXBhbnkgTHRkMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA
2VCTd91fnUn73Xy9DLvt/V62TVxRTEEstVdeRaZ3B3leO0pldE806mXO4RwdHXag
HQ4vGeZN0yqm++rDsGK+U3AH7kejyD2pXshNP9Cq5YwbptiLGtjcquw4HNxJQUOm
DeJf2vg6byms9RUipiq4SzbJKqJFlUpbuIPDpSpWz10PYmyCNeDGUUK65E5h2B83
4uxl1zNLYQCrkdBzb8oUxwYeP5a2DNxmjL5lsJML7DGr5znsevnoqGRwTm9fxCGf
y8wus7hwKz6clt3Whmmda7UAdb1c08hEQFVRbF14AR73xbnd8N0obCWJPCbzMCtk
aSef4FdEEgEXJiw0VAJT8wIDAQABo1AwTjAdBgNVHQ4EFgQUT1c7nd/SUO76HSoZ
umNUJv1R5PwwHwYDVR0jBBgwFoAUT1c7nd/SUO76HSoZumNUJv1R5PwwDAYDVR0T
BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEAfTjxKRQMzNB/U6ZoCUS+BSNfa2Oh
0plMN6ZuzwiVVZwg1jywvv5yv04koS7Pd4i9E4gt9ZBUQXlpq+A3oOCEEHNRR6b2
kyazGRM7s0OP5X21WrbpSmKmU6K7hkfx30yYs08LVs/Q8DIhvaj1FCFeJzUCzYn/
fHMq4tsbKO0dKAeydPM/nrUZBmaYQVKMVOORGLFjFKVO7JV6Kq/R86ouhjEPgJOe
2xulNBUcjicqtZlBdEh/PWCYP2SpGVDclKm8jeo175T3EVAkdKzzmfpxtMmnMlmq
cTJOU9TxuGvNASMtjj7pYIerTx+xgZDXEVBWFW9PjJ0TV06tCRsgSHItgg==
-----END CERTIFICATE-----`
	sdkCertSerial  = "D7CE59D1F522D701"
	sdkNotifyKey   = "testMchAPIv3Key0" // 16 bytes: the SDK's vectors use AES-128
	sdkNotifyTime  = 1624523846
	sdkNotifyNonce = "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz"
	sdkNotifySig   = "tJHIiIS9eB2hAYstmAmbbD3ZE5LiIm/Ug5tuL4fC0YOFRWIHV39UFIZXC0e9Wl6lBu6sKvkqDkzpqzBsVHyXF" +
		"lbYZTOQrVdG4b6LfTnK4mikv9++ixJMd3vTf2yCqvBkh98zs3Ds5zsYQakzbcwhmw4fMJs4nPLws28H0UW9FjDR//rxELLwXvV1VEA1I" +
		"BLX70xptjL8hrfUjEE8kkry6yNJTHZRU8CAc7qHli2Ng1V1qb9ARbK8A3ThmFmPQvRGrapI/jS2laKKgYUmfdEdkNO6B2Cke5e8VTxY4" +
		"06ArAmQ90GAihDwIcb16TQMnzCMBoutnwZKNiKRACrFmtxw2Q=="
	sdkNotifyBody = "{" +
		"\"id\":\"3119dfba-e649-5eec-ab1e-3412bc4d2e17\"," +
		"\"create_time\":\"2021-06-24T16:37:26+08:00\"," +
		"\"resource_type\":\"encrypt-resource\"," +
		"\"event_type\":\"PAYSCORE.USER_OPEN_SERVICE\"," +
		"\"summary\":\"签约成功\"," +
		"\"resource\":{" +
		"\"original_type\":\"payscore\"," +
		"\"algorithm\":\"AEAD_AES_256_GCM\"," +
		"\"ciphertext\":\"YDS3lKPaC4Y52Gf3uhft5qUBlIa8b428AWTtTauHQfQrRw+X1WpiuHIDy0vo1Vd6VEq67aVyqPdDYMkRVSDaZL3iZt" +
		"tevRMOoPKMifozg6XPWjIZumks/GpT48lI4NizyeaqLBokNebthah3o1H76qSlO9NkDjp9bzmKLEYYH9TEklFUpsvPqOTOcgSLgh21YJXYR" +
		"7dEBXFgRLiNIKRgO5JdXh1hccRUAlyVWxE54PXpnQ==\"," +
		"\"associated_data\":\"payscore\"," +
		"\"nonce\":\"Kj7QIyUiYx1q\"}" +
		"}"
	sdkNotifyPlain = "{" +
		"\"mchid\":\"1234567890\"," +
		"\"appid\":\"054aa7d7a2a54ab5898df65bd96f001c\"," +
		"\"create_time\":\"2020-06-30T12:12:00+08:00\"," +
		"\"out_contract_code\":\"21640bdbd08e473e828f3206a2741c6e\"" +
		"}"
)

// sdkSigner*: core/auth/signers/sha256withrsa_signer_test.go. The key is
// stored as "TESTING KEY", as the SDK stores it, so secret scanners do not
// flag a published test key.
const (
	sdkSignerKey = `-----BEGIN TESTING KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDZUJN33V+dSfvd
fL0Mu+39XrZNXFFMQSy1V15FpncHeV47SmV0TzTqZc7hHB0ddqAdDi8Z5k3TKqb7
6sOwYr5TcAfuR6PIPaleyE0/0KrljBum2Isa2Nyq7Dgc3ElBQ6YN4l/a+DpvKaz1
FSKmKrhLNskqokWVSlu4g8OlKlbPXQ9ibII14MZRQrrkTmHYHzfi7GXXM0thAKuR
0HNvyhTHBh4/lrYM3GaMvmWwkwvsMavnOex6+eioZHBOb1/EIZ/LzC6zuHArPpyW
3daGaZ1rtQB1vVzTyERAVVFsXXgBHvfFud3w3ShsJYk8JvMwK2RpJ5/gV0QSARcm
LDRUAlPzAgMBAAECggEBAMc7rDeUaXiWv6bMGbZ3BTXpg1FhdddnWUnYE8HfX/km
OFI7XtBHXcgYFpcjYz4D5787pcsk7ezPidAj58zqenuclmjKnUmT3pfbI5eCA2v4
C9HnbYDrmUPK1ZcADtka4D6ScDccpNYNa1g2TFHzkIrEa6H+q7S3O2fqxY/DRVtN
0JIXalBb8daaqL5QVzSmM2BMVnHy+YITJWIkP2a3pKs9C0W65JGDsnG0wVrHinHF
+cnhFZIbaPEI//DAFMc9NkrWOKVRTEgcCUxCFaHOZVNxDWZD7A2ZfJB2rK6eg//y
gEiFDR2h6mTaDowMB4YF2n2dsIO4/dCG8vPHI20jn4ECgYEA/ZGu6lEMlO0XZnam
AZGtiNgLcCfM/C2ZERZE7QTRPZH1WdK92Al9ndldsswFw4baJrJLCmghjF/iG4zi
hhBvLnOLksnZUfjdumxoHDWXo2QBWbI5QsWIE7AuTiWgWj1I7X4fCXSQf6i+M/y2
6TogQ7d0ANpZFyOkTNMn/tiJvLECgYEA22XqlamG/yfAGWery5KNH2DGlTIyd6xJ
WtJ9j3jU99lZ0bCQ5xhiBbU9ImxCi3zgTsoqLWgA/p00HhNFNoUcTl9ofc0G3zwT
D1y0ZzcnVKxGJdZ6ohW52V0hJStAigtjYAsUgjm7//FH7PiQDBDP1Wa6xSRkDQU/
aSbQxvEE8+MCgYEA3bb8krW7opyM0XL9RHH0oqsFlVO30Oit5lrqebS0oHl3Zsr2
ZGgoBlWBsEzk3UqUhTFwm/DhJLTSJ/TQPRkxnhQ5/mewNhS9C7yua7wQkzVmWN+V
YeUGTvDGDF6qDz12/vJAgSwDDRym8x4NcXD5tTw7mmNRcwIfL22SkysThIECgYAV
BgccoEoXWS/HP2/u6fQr9ZIR6eV8Ij5FPbZacTG3LlS1Cz5XZra95UgebFFUHHtC
EY1JHJY7z8SWvTH8r3Su7eWNaIAoFBGffzqqSVazfm6aYZsOvRY6BfqPHT3p/H1h
Tq6AbBffxrcltgvXnCTORjHPglU0CjSxVs7awW3AEQKBgB5WtaC8VLROM7rkfVIq
+RXqE5vtJfa3e3N7W3RqxKp4zHFAPfr82FK5CX2bppEaxY7SEZVvVInKDc5gKdG/
jWNRBmvvftZhY59PILHO2X5vO4FXh7suEjy6VIh0gsnK36mmRboYIBGsNuDHjXLe
BDa+8mDLkWu5nHEhOxy2JJZl
-----END TESTING KEY-----`
	sdkSignerMessage   = "source"
	sdkSignerSignature = "BKyAfU4iMCuvXMXS0Wzam3V/cnxZ+JaqigPM5OhljS2iOT95OO6Fsuml2JkFANJU9K6q9bLlDhPXuoVz+pp4hAm6" +
		"pHU4ld815U4jsKu1RkyaII+1CYBUYC8TK0XtJ8FwUXXz8vZHh58rrAVN1XwNyvD1vfpxrMT4SL536GLwvpUHlCqIMzoZUguLli/K8V29QiOh" +
		"uH6IEqLNJn8e9b3nwNcQ7be3CzYGpDAKBfDGPCqCv8Rw5zndhlffk2FEA70G4hvMwe51qMN/RAJbknXG23bSlObuTCN7Ndj1aJGH6/L+hdwf" +
		"LpUtJm4QYVazzW7DFD27EpSQEqA8bX9+8m1rLg=="
)

// sdkAES*: utils/aes_test.go, TestDecryptAes256Gcm.
const (
	sdkAESKey            = "testAPIv3Key0000"
	sdkAESCiphertext     = "FsdXzxryWfKwvLJKf8LG/ToRPTRh8RN9wROC"
	sdkAESPlaintext      = "Hello World"
	sdkAESNonce          = "wCq51qZv4Yfg"
	sdkAESAssociatedData = "Dl56FrqWQJF1t9LtC3vEUsniZKvbqdR8"
)

func sdkKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PublicKey) {
	t.Helper()
	key, err := utils.LoadPrivateKey(strings.ReplaceAll(sdkSignerKey, "TESTING KEY", "PRIVATE KEY"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := utils.LoadCertificate(sdkCertificate)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert.PublicKey.(*rsa.PublicKey)
}

func vectorNotifier(pub *rsa.PublicKey, apiV3Key string, now int64) notifier {
	return notifier{
		keyID:    sdkCertSerial,
		verifier: verifiers.NewSHA256WithRSAPubkeyVerifier(sdkCertSerial, *pub),
		apiV3Key: apiV3Key,
		now:      func() time.Time { return time.Unix(now, 0) },
	}
}

func TestSDKSignerVector(t *testing.T) {
	key, certKey := sdkKeys(t)
	if !key.PublicKey.Equal(certKey) {
		t.Fatal("the signer vector's key is not the notify vector's certificate key")
	}
	// PKCS #1 v1.5 is deterministic: the same key and message give the
	// published signature, byte for byte.
	sig, err := utils.SignSHA256WithRSA(sdkSignerMessage, key)
	if err != nil || sig != sdkSignerSignature {
		t.Fatalf("signature = %q, %v; want the published one", sig, err)
	}
	n := vectorNotifier(certKey, sdkNotifyKey, sdkNotifyTime)
	if err := n.verifier.Verify(t.Context(), sdkCertSerial, sdkSignerMessage, sdkSignerSignature); err != nil {
		t.Fatalf("the published signature does not verify: %v", err)
	}
	if err := n.verifier.Verify(t.Context(), sdkCertSerial, sdkSignerMessage+" ", sdkSignerSignature); err == nil {
		t.Fatal("the signature verifies another message")
	}
}

func sdkNotifyRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "https://shop.example/callbacks/wechatpay/pay", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Wechatpay-Nonce", sdkNotifyNonce)
	r.Header.Set("Wechatpay-Timestamp", "1624523846")
	r.Header.Set("Wechatpay-Serial", sdkCertSerial)
	r.Header.Set("Wechatpay-Signature", sdkNotifySig)
	return r
}

func TestSDKNotifyVector(t *testing.T) {
	_, pub := sdkKeys(t)
	n := vectorNotifier(pub, sdkNotifyKey, sdkNotifyTime)
	env, plain, err := n.open(sdkNotifyRequest(sdkNotifyBody))
	if err != nil {
		t.Fatalf("the SDK's callback does not open: %v", err)
	}
	if string(plain) != sdkNotifyPlain || env.ID != "3119dfba-e649-5eec-ab1e-3412bc4d2e17" ||
		env.EventType != "PAYSCORE.USER_OPEN_SERVICE" || env.Resource.AssociatedData != "payscore" {
		t.Fatalf("opened %+v, %q", env, plain)
	}

	// Through the whole parse, for the vector's own merchant and app, it
	// is refused only for its event: siyu does not handle pay-score.
	c := &Client{notifications: n, mchID: "1234567890", appID: "054aa7d7a2a54ab5898df65bd96f001c"}
	if _, err := c.ParseNotification(sdkNotifyRequest(sdkNotifyBody)); !errs.Is(err, "notification_unsupported_event") {
		t.Fatalf("ParseNotification = %v, want notification_unsupported_event", err)
	}

	tampered := strings.Replace(sdkNotifyBody, "签约成功", "签约失败", 1)
	tests := []struct {
		name string
		req  *http.Request
		n    notifier
		want string
	}{
		{"one byte of the body changed", sdkNotifyRequest(strings.Replace(sdkNotifyBody, "Kj7QIyUiYx1q", "Kj7QIyUiYx1r", 1)), n, "notification_bad_signature"},
		{"summary changed", sdkNotifyRequest(tampered), n, "notification_bad_signature"},
		{"six minutes later", sdkNotifyRequest(sdkNotifyBody), vectorNotifier(pub, sdkNotifyKey, sdkNotifyTime+6*60), "notification_stale"},
		{"six minutes earlier", sdkNotifyRequest(sdkNotifyBody), vectorNotifier(pub, sdkNotifyKey, sdkNotifyTime-6*60), "notification_stale"},
		{"wrong APIv3 key", sdkNotifyRequest(sdkNotifyBody), vectorNotifier(pub, "testMchAPIv3Key1", sdkNotifyTime), "notification_undecryptable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := tc.n.open(tc.req); !errs.Is(err, tc.want) {
				t.Fatalf("open = %v, want %s", err, tc.want)
			}
		})
	}
	t.Run("four minutes later still opens", func(t *testing.T) {
		if _, _, err := vectorNotifier(pub, sdkNotifyKey, sdkNotifyTime+4*60).open(sdkNotifyRequest(sdkNotifyBody)); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSDKAESVector runs the SDK's AES-GCM vector through the callback path:
// its ciphertext, nonce and associated data in a callback body that the
// vector key pair signs.
func TestSDKAESVector(t *testing.T) {
	key, pub := sdkKeys(t)
	body := `{"id":"aes-vector","create_time":"2021-06-24T16:37:26+08:00","resource_type":"encrypt-resource",` +
		`"event_type":"TRANSACTION.SUCCESS","summary":"","resource":{"original_type":"transaction",` +
		`"algorithm":"AEAD_AES_256_GCM","ciphertext":"` + sdkAESCiphertext + `","associated_data":"` +
		sdkAESAssociatedData + `","nonce":"` + sdkAESNonce + `"}}`
	sign := func(body string) *http.Request {
		return signedRequest(t, key, sdkCertSerial, time.Unix(sdkNotifyTime, 0), body)
	}
	_, plain, err := vectorNotifier(pub, sdkAESKey, sdkNotifyTime).open(sign(body))
	if err != nil || string(plain) != sdkAESPlaintext {
		t.Fatalf("open = %q, %v; want %q", plain, err, sdkAESPlaintext)
	}
	for name, n := range map[string]notifier{
		"wrong key": vectorNotifier(pub, "testAPIv3Key1111", sdkNotifyTime),
	} {
		if _, _, err := n.open(sign(body)); !errs.Is(err, "notification_undecryptable") {
			t.Errorf("%s: open = %v, want notification_undecryptable", name, err)
		}
	}
	wrongAD := strings.Replace(body, sdkAESAssociatedData, "transaction", 1)
	if _, _, err := vectorNotifier(pub, sdkAESKey, sdkNotifyTime).open(sign(wrongAD)); !errs.Is(err, "notification_undecryptable") {
		t.Errorf("wrong associated data: open = %v, want notification_undecryptable", err)
	}
}
