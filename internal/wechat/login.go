// Package wechat talks to WeChat's server APIs on the shop's behalf: the mini
// program login (code2Session) here. In sandbox mode the same client code
// talks to the simulators in wechat/sandbox through sandbox.Transport.
package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
)

// DefaultBaseURL is WeChat's API host.
const DefaultBaseURL = "https://api.weixin.qq.com"

// loginTimeout bounds one exchange: a buyer is waiting on the login screen,
// and a code is only good for minutes anyway.
const loginTimeout = 5 * time.Second

// Session is what code2Session answers. It is the identity domain's type, so
// a LoginClient is an identity.WeChat as it is.
type Session = identity.WeChatSession

// Error codes code2Session answers with (WeChat's documentation).
const (
	codeSystemBusy   = -1
	codeInvalidCode  = 40029
	codeCodeUsed     = 40163
	codeRateLimited  = 45011
	codeRiskyAccount = 40226 // the account is blocked from logging in for risk
)

// LoginClient calls code2Session. The zero HTTP uses a client with the
// login timeout.
type LoginClient struct {
	BaseURL   string // DefaultBaseURL when empty
	AppID     string
	AppSecret string
	HTTP      *http.Client
}

// APIError is an errcode WeChat answered with; it is the cause inside the
// errs.Error Code2Session returns, for the logs.
type APIError struct {
	Code    int
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("wechat: errcode %d: %s", e.Code, e.Message) }

type code2SessionReply struct {
	OpenID     string `json:"openid"`
	UnionID    string `json:"unionid"`
	SessionKey string `json:"session_key"`
	ErrCode    int    `json:"errcode"`
	ErrMsg     string `json:"errmsg"`
}

// Code2Session exchanges a mini program's one-time login code. An invalid or
// used code is errs.Unauthorized "invalid_login_code"; WeChat's rate limit is
// errs.TooMany "login_rate_limited"; anything else, transport failures
// included, is errs.Unavailable "wechat_unavailable".
func (c *LoginClient) Code2Session(ctx context.Context, code string) (Session, error) {
	if code == "" {
		return Session{}, identity.ErrInvalidLoginCode
	}
	ctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()

	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	q := url.Values{
		"appid":      {c.AppID},
		"secret":     {c.AppSecret},
		"js_code":    {code},
		"grant_type": {"authorization_code"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/sns/jscode2session?"+q.Encode(), nil)
	if err != nil {
		return Session{}, unavailable(fmt.Errorf("wechat: bad base URL: %w", redact(err)))
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: loginTimeout}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Session{}, unavailable(fmt.Errorf("wechat: code2Session: %w", redact(err)))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Session{}, unavailable(fmt.Errorf("wechat: code2Session: HTTP %d", resp.StatusCode))
	}
	// The answer is a few hundred bytes; the cap keeps a broken proxy from
	// feeding us megabytes.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return Session{}, unavailable(fmt.Errorf("wechat: code2Session: %w", redact(err)))
	}
	var reply code2SessionReply
	if err := json.Unmarshal(body, &reply); err != nil {
		return Session{}, unavailable(fmt.Errorf("wechat: code2Session: undecodable reply: %w", err))
	}
	if reply.ErrCode != 0 {
		return Session{}, apiError(&APIError{Code: reply.ErrCode, Message: reply.ErrMsg})
	}
	if reply.OpenID == "" || reply.SessionKey == "" {
		return Session{}, unavailable(errors.New("wechat: code2Session: reply without openid or session_key"))
	}
	return Session{OpenID: reply.OpenID, UnionID: reply.UnionID, SessionKey: reply.SessionKey}, nil
}

func apiError(e *APIError) error {
	switch e.Code {
	case codeInvalidCode, codeCodeUsed:
		return &errs.Error{Kind: errs.Unauthorized, Code: "invalid_login_code",
			Message: identity.ErrInvalidLoginCode.Message, Err: e}
	case codeRateLimited:
		return &errs.Error{Kind: errs.TooMany, Code: "login_rate_limited",
			Message: "too many logins right now; try again in a minute", Err: e}
	case codeSystemBusy:
		return unavailable(e)
	case codeRiskyAccount:
		return &errs.Error{Kind: errs.Forbidden, Code: "login_blocked",
			Message: "WeChat blocked this account from logging in", Err: e}
	}
	// Our own configuration errors (a wrong appid or secret) and codes we
	// do not know: nothing the buyer can fix, so an outage to them.
	return unavailable(e)
}

func unavailable(cause error) error {
	return &errs.Error{Kind: errs.Unavailable, Code: "wechat_unavailable",
		Message: "WeChat login is unavailable; try again later", Err: cause}
}

// redact drops the URL from a transport error: the query carries the app
// secret and the buyer's code, and the error ends up in the logs.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
