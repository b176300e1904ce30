package rush

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// Buyer is a signed-in buyer the run sends requests as.
type Buyer struct {
	ID        string
	Token     string
	AddressID string
}

// Client sends the flash-sale API's requests to one loopback server.
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client of the server at base (http://127.0.0.1:port),
// keeping up to conns connections open; a request gives up after timeout.
func NewClient(base string, conns int, timeout time.Duration) (*Client, error) {
	if err := CheckLoopback(base); err != nil {
		return nil, err
	}
	tr := &http.Transport{
		DialContext:         dialLoopback(),
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &Client{base: base, hc: &http.Client{Transport: tr, Timeout: timeout}}, nil
}

// Close closes the idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// BuyRequest is the body of a buy (and of the noop, which decodes the same).
type BuyRequest struct {
	SKUID     string `json:"sku_id"`
	Qty       int    `json:"qty"`
	AddressID string `json:"address_id"`
	RequestID string `json:"request_id"`
}

// BuyAnswer is what a buy came back with.
type BuyAnswer struct {
	Status        int    // HTTP status; 0 when no answer came
	Outcome       string // won, sold_out, limit_reached (200)
	ReservationID string
	Left, Held    int
	Repeat        bool
	Code          string // the problem's code (non-200)
	Err           error  // transport failure or an unreadable answer
}

// Label is the answer's name in the report.
func (a BuyAnswer) Label() Answer {
	switch {
	case a.Err != nil:
		return Answer{Label: errLabel(a.Err)}
	case a.Status == http.StatusOK && a.Outcome == "won" && a.Repeat:
		return Answer{Label: "won (repeat)", OK: true}
	case a.Status == http.StatusOK && a.Outcome != "":
		return Answer{Label: a.Outcome, OK: true}
	case a.Status == http.StatusOK:
		return Answer{Label: "200 without an outcome"}
	}
	return Answer{Label: statusLabel(a.Status, a.Code)}
}

// Buy posts one buy to path (/api/v1/flash/sessions/{id}/buy).
func (c *Client) Buy(ctx context.Context, path string, b Buyer, body BuyRequest) BuyAnswer {
	var out struct {
		Outcome       string `json:"outcome"`
		ReservationID string `json:"reservation_id"`
		Left          int    `json:"left"`
		Held          int    `json:"held"`
		Repeat        bool   `json:"repeat"`
		Code          string `json:"code"`
	}
	status, err := c.post(ctx, path, b.Token, body, &out)
	return BuyAnswer{Status: status, Outcome: out.Outcome, ReservationID: out.ReservationID,
		Left: out.Left, Held: out.Held, Repeat: out.Repeat, Code: out.Code, Err: err}
}

// Noop posts the trivial handler's request: the same authentication and
// body as a buy, answered {"ok":true} without deciding anything.
func (c *Client) Noop(ctx context.Context, path string, b Buyer, body BuyRequest) Answer {
	var out struct {
		OK   bool   `json:"ok"`
		Code string `json:"code"`
	}
	status, err := c.post(ctx, path, b.Token, body, &out)
	switch {
	case err != nil:
		return Answer{Label: errLabel(err)}
	case status == http.StatusOK && out.OK:
		return Answer{Label: "ok", OK: true}
	}
	return Answer{Label: statusLabel(status, out.Code)}
}

func (c *Client) post(ctx context.Context, path, token string, body any, out any) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	// Read to the end, so the connection goes back to the pool.
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return resp.StatusCode, err
	}
	if err := json.Unmarshal(raw, out); err != nil && resp.StatusCode == http.StatusOK {
		return resp.StatusCode, errBadAnswer
	}
	return resp.StatusCode, nil
}

var errBadAnswer = errors.New("unreadable answer")

func statusLabel(status int, code string) string {
	if code == "" {
		return strconv.Itoa(status)
	}
	return strconv.Itoa(status) + " " + code
}

func errLabel(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, errBadAnswer):
		return "unreadable answer"
	}
	return "transport error"
}
