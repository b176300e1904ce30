package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/wechat/pay"
)

// callbackPrefix is where the payment platform posts its notifications.
// Requests under it bypass the body cap and answer in the platform's format.
const callbackPrefix = "/callbacks/"

// callbackBudget bounds the work of one callback. WeChat Pay waits 5
// seconds for an answer and counts a slower one as a failure; answering
// FAIL ourselves a little earlier says the same thing (deliver again) and
// frees the connection. The services only make an idempotent database
// update, so a retry of something that committed late changes nothing.
const callbackBudget = 4 * time.Second

// PayNotifications verifies and decrypts a payment platform callback from
// its raw request; *pay.Client is one. Its errors are *errs.Error, safe to
// answer with pay.Answer.
type PayNotifications interface {
	ParseNotification(r *http.Request) (pay.Notification, error)
}

var (
	errNotificationShape = errs.E(errs.Invalid, "notification_undecodable", "the notification carries no resource for its event")
	errNotificationEvent = errs.E(errs.Unprocessable, "notification_unsupported_event", "unsupported event type")
)

// callbackRoutes registers the payment platform's callbacks. They carry no
// login: the signature over the raw body is the proof, checked by
// PayNotifications before anything else happens.
func (a *api) callbackRoutes() {
	a.handle("POST /callbacks/wechatpay/pay", http.HandlerFunc(a.payCallback))
	a.handle("POST /callbacks/wechatpay/refund", http.HandlerFunc(a.payCallback))
}

// payCallback applies one notification. Both routes share it: what to do is
// decided by the event type inside the signed body, not by the path it came
// to. Every outcome is answered with pay.Answer: 204, or a FAIL the platform
// retries on its schedule; a notification applied twice is a success twice.
func (a *api) payCallback(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), callbackBudget)
	defer cancel()
	n, err := a.d.PayNotifications.ParseNotification(r.WithContext(ctx))
	if err == nil {
		err = a.applyNotification(ctx, n)
	}
	if err != nil {
		a.logCallbackFailure(r, n, err)
	}
	pay.Answer(w, err)
}

func (a *api) applyNotification(ctx context.Context, n pay.Notification) error {
	switch {
	case n.EventType == pay.EventTransactionSuccess:
		if n.Transaction == nil {
			return errNotificationShape
		}
		_, err := a.d.Payments.Capture(ctx, *n.Transaction)
		return err
	case strings.HasPrefix(n.EventType, "REFUND."):
		if n.Refund == nil {
			return errNotificationShape
		}
		_, err := a.d.Refunds.ApplyRefundResult(ctx, *n.Refund)
		return err
	}
	return errNotificationEvent
}

// logCallbackFailure records why a callback was refused: a forged or stale
// one is worth a look, a failure of ours more so. Nothing of the body is
// logged; the services log their own alarms (an amount mismatch).
func (a *api) logCallbackFailure(r *http.Request, n pay.Notification, err error) {
	level, code := slog.LevelError, "internal"
	if e, ok := errs.As(err); ok {
		code = e.Code
		if e.Kind != errs.Unavailable {
			level = slog.LevelWarn
		}
	}
	loggerFrom(r.Context()).Log(r.Context(), level, "payment callback refused",
		slog.String("request_id", requestID(r.Context())), slog.String("route", r.URL.Path),
		slog.String("notification_id", n.ID), slog.String("event_type", n.EventType),
		slog.String("code", code), slog.String("error", err.Error()))
}
