package sandbox

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"
)

// Callback events the simulator sends (WeChat's event_type values).
const (
	eventTransactionSuccess = "TRANSACTION.SUCCESS"
	eventRefundSuccess      = "REFUND.SUCCESS"
	eventRefundAbnormal     = "REFUND.ABNORMAL"
	eventRefundClosed       = "REFUND.CLOSED"
)

var summaries = map[string]string{
	eventTransactionSuccess: "支付成功",
	eventRefundSuccess:      "退款成功",
	eventRefundAbnormal:     "退款异常",
	eventRefundClosed:       "退款关闭",
}

// callbackTimeout is how long the platform waits for a callback's answer
// before it counts the attempt as failed.
const callbackTimeout = 5 * time.Second

// notice is one callback: the same body (and id) on every attempt and every
// duplicate, as the platform redelivers one notification; only the
// signature headers are made anew per attempt.
type notice struct {
	id, event               string
	outTradeNo, outRefundNo string
	url                     string
	body                    []byte
}

// notice seals resource into a callback body: the resource encrypted with
// AEAD_AES_256_GCM under the APIv3 key, a fresh 12-character nonce, and the
// original type as associated data.
func (p *Pay) notice(event, outTradeNo, outRefundNo, url, originalType string, resource any) *notice {
	plain, err := json.Marshal(resource)
	if err != nil {
		panic(err) // the resources are plain structs
	}
	nonce := randomString(p.gcm.NonceSize())
	sealed := p.gcm.Seal(nil, []byte(nonce), plain, []byte(originalType))
	type res struct {
		OriginalType   string `json:"original_type"`
		Algorithm      string `json:"algorithm"`
		Ciphertext     string `json:"ciphertext"`
		AssociatedData string `json:"associated_data"`
		Nonce          string `json:"nonce"`
	}
	n := &notice{id: newNotificationID(), event: event, outTradeNo: outTradeNo, outRefundNo: outRefundNo, url: url}
	n.body, err = json.Marshal(struct {
		ID           string `json:"id"`
		CreateTime   string `json:"create_time"`
		ResourceType string `json:"resource_type"`
		EventType    string `json:"event_type"`
		Summary      string `json:"summary"`
		Resource     res    `json:"resource"`
	}{
		ID: n.id, CreateTime: p.now().In(chinaTime).Format(time.RFC3339), ResourceType: "encrypt-resource",
		EventType: event, Summary: summaries[event],
		Resource: res{originalType, "AEAD_AES_256_GCM", base64.StdEncoding.EncodeToString(sealed), originalType, nonce},
	})
	if err != nil {
		panic(err)
	}
	return n
}

// emit sends a callback, as its order's (or refund's) faults say.
func (p *Pay) emit(n *notice) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.faultsLocked(n.outTradeNo, n.outRefundNo)
	if f.Drop {
		p.recordLocked(Delivery{NotificationID: n.id, EventType: n.event, OutTradeNo: n.outTradeNo,
			OutRefundNo: n.outRefundNo, Err: "dropped", At: p.now()})
		return
	}
	if !f.Reorder {
		p.deliverLocked(n, f, nil, nil)
		return
	}
	held := p.held[n.outTradeNo]
	if len(held) == 0 {
		p.held[n.outTradeNo] = []*notice{n}
		return
	}
	delete(p.held, n.outTradeNo)
	gate := make(chan struct{})
	var once sync.Once
	p.deliverLocked(n, f, nil, func() { once.Do(func() { close(gate) }) })
	for i := len(held) - 1; i >= 0; i-- {
		p.deliverLocked(held[i], f, gate, nil)
	}
}

// deliverLocked starts the delivery of n (Duplicate times at once). Each
// copy waits for gate (if any), then Delay, then tries on the platform's
// schedule until an answer is 2xx; firstDone runs after each copy's first
// attempt.
func (p *Pay) deliverLocked(n *notice, f Faults, gate <-chan struct{}, firstDone func()) {
	copies := max(f.Duplicate, 1)
	for range copies {
		p.spawnLocked(func() {
			if gate != nil {
				select {
				case <-gate:
				case <-p.ctx.Done():
					return
				}
			}
			if !p.sleep(f.Delay) {
				return
			}
			for attempt := 1; ; attempt++ {
				ok := p.post(n, attempt)
				if attempt == 1 && firstDone != nil {
					firstDone()
				}
				if ok {
					return
				}
				if attempt > len(retrySchedule) {
					p.log.Warn("sandbox pay: callback given up", "event", n.event, "out_trade_no", n.outTradeNo, "attempts", attempt)
					return
				}
				if !p.sleep(p.compress(retrySchedule[attempt-1])) {
					return
				}
			}
		})
	}
}

// post makes one delivery attempt, reporting whether it was answered 2xx.
func (p *Pay) post(n *notice, attempt int) bool {
	ctx, cancel := context.WithTimeout(p.ctx, callbackTimeout)
	defer cancel()
	d := Delivery{NotificationID: n.id, EventType: n.event, OutTradeNo: n.outTradeNo, OutRefundNo: n.outRefundNo,
		Attempt: attempt, At: p.now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(n.body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		// Signed at the simulator's clock: the shop judges the timestamp
		// against its own, which in a test is the same fake clock.
		p.signHeaders(req.Header, p.now(), n.body)
		var resp *http.Response
		if resp, err = p.callbacks.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxRequestBody))
			resp.Body.Close()
			d.Status = resp.StatusCode
		}
	}
	if err != nil {
		d.Err = err.Error()
	}
	p.record(d)
	ok := d.Status >= 200 && d.Status < 300
	if !ok {
		p.log.Debug("sandbox pay: callback failed", "event", n.event, "out_trade_no", n.outTradeNo,
			"attempt", attempt, "status", d.Status, "err", d.Err)
	}
	return ok
}
