package pay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/payment"
)

// The callback events siyu handles (WeChat Pay's event_type values).
const (
	EventTransactionSuccess = "TRANSACTION.SUCCESS"
	EventRefundSuccess      = "REFUND.SUCCESS"
	EventRefundAbnormal     = "REFUND.ABNORMAL"
	EventRefundClosed       = "REFUND.CLOSED"
)

// eventStatus is the state each event must carry: an event whose resource
// says otherwise is refused rather than guessed at.
var eventStatus = map[string]string{
	EventTransactionSuccess: string(payment.TradeSuccess),
	EventRefundSuccess:      string(payment.RefundSuccess),
	EventRefundAbnormal:     string(payment.RefundAbnormal),
	EventRefundClosed:       string(payment.RefundClosed),
}

const (
	// MaxNotificationBody caps what a callback may send: a real one is
	// about 1 KiB, and the body is read before it is verified.
	MaxNotificationBody = 64 << 10
	// notificationSkew is how far a callback's timestamp may be from our
	// clock: WeChat's rule, and what makes a captured callback useless for
	// replay after five minutes.
	notificationSkew = 5 * time.Minute
	// signTestPrefix marks the platform's probes: it sends callbacks signed
	// "WECHATPAY/SIGNTEST/..." to check that merchants verify signatures,
	// and a merchant that accepts one fails the check.
	signTestPrefix = "WECHATPAY/SIGNTEST/"
	signatureType  = "WECHATPAY2-SHA256-RSA2048"
	aeadAlgorithm  = "AEAD_AES_256_GCM"
	gcmNonceSize   = 12
)

// Notification is a verified, decrypted callback. Exactly one of
// Transaction (TRANSACTION.* events) and Refund (REFUND.* events) is set.
type Notification struct {
	ID          string // the platform's notification id: the same across redeliveries
	EventType   string
	CreateTime  time.Time
	Transaction *payment.Transaction
	Refund      *payment.RefundResult
}

// ParseNotification verifies and decrypts a callback. It reads the raw body
// (at most MaxNotificationBody), then in order: requires the four
// Wechatpay-* headers; refuses a WECHATPAY/SIGNTEST/ probe; refuses a
// timestamp more than five minutes from the clock; refuses a serial other
// than our platform public key id; verifies the RSA-SHA256 signature over
// "timestamp\nnonce\nbody\n"; decrypts the AEAD_AES_256_GCM resource with
// the APIv3 key; and checks the resource is for our merchant (and, for a
// transaction, our app) and agrees with its event type.
//
// Every error is an *errs.Error: answer it with Answer, so the platform
// retries. Nothing of the body or the keys is in an error.
func (c *Client) ParseNotification(r *http.Request) (Notification, error) {
	env, plain, err := c.notifications.open(r)
	if err != nil {
		return Notification{}, err
	}
	n := Notification{ID: env.ID, EventType: env.EventType, CreateTime: env.CreateTime}
	want, known := eventStatus[env.EventType]
	if !known {
		return Notification{}, notificationError(errs.Unprocessable, "notification_unsupported_event",
			"unsupported event type", fmt.Errorf("event_type %q", env.EventType))
	}
	var state, mchID, appID string
	if strings.HasPrefix(env.EventType, "TRANSACTION.") {
		var tx payments.Transaction
		if err := json.Unmarshal(plain, &tx); err != nil {
			return Notification{}, undecodable(err)
		}
		t, err := transactionFrom(&tx)
		if err != nil {
			return Notification{}, undecodable(err)
		}
		n.Transaction, state, mchID, appID = &t, string(t.State), t.MchID, t.AppID
		if appID == "" {
			return Notification{}, undecodable(errors.New("transaction without appid"))
		}
	} else {
		var rr refundResource
		if err := json.Unmarshal(plain, &rr); err != nil {
			return Notification{}, undecodable(err)
		}
		res, err := rr.result()
		if err != nil {
			return Notification{}, undecodable(err)
		}
		n.Refund, state, mchID = &res, string(res.Status), rr.MchID
	}
	if err := c.ours(appID, mchID); err != nil {
		return Notification{}, err
	}
	if state != want {
		return Notification{}, notificationError(errs.Unprocessable, "notification_inconsistent",
			"the notification's state does not match its event", fmt.Errorf("%s carries state %q", env.EventType, state))
	}
	return n, nil
}

// envelope is a callback's body before decryption.
type envelope struct {
	ID           string    `json:"id"`
	CreateTime   time.Time `json:"create_time"`
	EventType    string    `json:"event_type"`
	ResourceType string    `json:"resource_type"`
	Summary      string    `json:"summary"`
	Resource     struct {
		OriginalType   string `json:"original_type"`
		Algorithm      string `json:"algorithm"`
		Ciphertext     string `json:"ciphertext"`
		AssociatedData string `json:"associated_data"`
		Nonce          string `json:"nonce"`
	} `json:"resource"`
}

// notifier verifies and decrypts callbacks. It is apart from the Client so
// the SDK's published vectors (made with a 16-byte key and a certificate's
// key) can be run through the same code.
type notifier struct {
	keyID    string
	verifier *verifiers.SHA256WithRSAPubkeyVerifier
	apiV3Key string
	now      func() time.Time
}

// open checks a callback's headers and signature and decrypts its resource,
// returning the envelope and the plaintext.
func (n notifier) open(r *http.Request) (envelope, []byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxNotificationBody+1))
	if err != nil {
		return envelope{}, nil, notificationError(errs.Invalid, "notification_unreadable", "the body could not be read", err)
	}
	if len(body) > MaxNotificationBody {
		return envelope{}, nil, notificationError(errs.TooLarge, "notification_too_large", "the body is too large", nil)
	}
	h := r.Header
	ts, nonce, sig, serial := h.Get("Wechatpay-Timestamp"), h.Get("Wechatpay-Nonce"), h.Get("Wechatpay-Signature"), h.Get("Wechatpay-Serial")
	if ts == "" || nonce == "" || sig == "" || serial == "" {
		return envelope{}, nil, unverified("notification_headers_missing", "Wechatpay-Timestamp, -Nonce, -Signature and -Serial are required", nil)
	}
	if t := h.Get("Wechatpay-Signature-Type"); t != "" && t != signatureType {
		return envelope{}, nil, unverified("notification_signature_type", "unsupported signature type", fmt.Errorf("Wechatpay-Signature-Type %q", t))
	}
	if strings.HasPrefix(sig, signTestPrefix) {
		return envelope{}, nil, unverified("notification_probe", "a signature probe is not a notification", nil)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return envelope{}, nil, unverified("notification_stale", "the timestamp is not a number", nil)
	}
	if d := n.now().Sub(time.Unix(sec, 0)); d > notificationSkew || d < -notificationSkew {
		return envelope{}, nil, unverified("notification_stale", "the timestamp is more than 5 minutes off",
			fmt.Errorf("timestamp %d is %s off", sec, d.Round(time.Second)))
	}
	if serial != n.keyID {
		// A new platform key announces itself by its serial before it signs
		// anything: an unknown serial means the configured key is out of
		// date, or the callback is forged.
		return envelope{}, nil, unverified("notification_unknown_serial", "signed with an unknown platform key",
			fmt.Errorf("Wechatpay-Serial %q", serial))
	}
	msg := ts + "\n" + nonce + "\n" + string(body) + "\n"
	if err := n.verifier.Verify(context.Background(), serial, msg, sig); err != nil {
		return envelope{}, nil, unverified("notification_bad_signature", "the signature does not verify", err)
	}

	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return envelope{}, nil, undecodable(err)
	}
	res := env.Resource
	if res.Algorithm != aeadAlgorithm {
		return envelope{}, nil, undecodable(fmt.Errorf("resource algorithm %q", res.Algorithm))
	}
	if len(res.Nonce) != gcmNonceSize {
		// crypto/cipher panics on a nonce of another length.
		return envelope{}, nil, undecodable(fmt.Errorf("resource nonce of %d bytes", len(res.Nonce)))
	}
	plain, err := utils.DecryptAES256GCM(n.apiV3Key, res.AssociatedData, res.Nonce, res.Ciphertext)
	if err != nil {
		// The signature held, so the platform sent this: a failure here is
		// a wrong APIv3 key (rotated in the merchant platform, not here),
		// or associated data that is not what was sealed.
		return envelope{}, nil, unverified("notification_undecryptable", "the resource does not decrypt", err)
	}
	return env, []byte(plain), nil
}

func notificationError(kind errs.Kind, code, msg string, cause error) error {
	if cause != nil {
		cause = fmt.Errorf("wechat pay notification: %w", cause)
	}
	return &errs.Error{Kind: kind, Code: code, Message: msg, Err: cause}
}

func unverified(code, msg string, cause error) error {
	return notificationError(errs.Unauthorized, code, msg, cause)
}

func undecodable(cause error) error {
	return notificationError(errs.Invalid, "notification_undecodable", "the notification could not be read", cause)
}

// Answer writes the answer the platform expects to a callback: 204 with no
// body for success; for a failure 4xx or 5xx with {"code":"FAIL",
// "message":...}, so it delivers again on its retry schedule. The message
// is err's client-safe text.
func Answer(w http.ResponseWriter, err error) {
	if err == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	status, msg := http.StatusInternalServerError, "internal error"
	if e, ok := errs.As(err); ok {
		msg = e.Message
		switch e.Kind {
		case errs.Unauthorized:
			status = http.StatusUnauthorized
		case errs.Forbidden:
			status = http.StatusForbidden
		case errs.TooLarge:
			status = http.StatusRequestEntityTooLarge
		case errs.Invalid, errs.Unprocessable, errs.NotFound, errs.Conflict:
			status = http.StatusBadRequest
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{"FAIL", msg})
}
