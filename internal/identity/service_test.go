package identity_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/seal"
	"github.com/siyu-commerce/siyu/internal/store/sqlite"
	"github.com/siyu-commerce/siyu/internal/wechat"
	"github.com/siyu-commerce/siyu/internal/wechat/sandbox"
)

// env is the service as siyu runs it in sandbox mode: the SQLite engine, the
// real code2Session client talking to the simulator in process.
type env struct {
	svc   *identity.Service
	clock *clock.Fake
	sim   *sandbox.Login
	keys  *keyRecorder
}

func newEnv(t *testing.T) env {
	t.Helper()
	sealer, err := seal.New(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "siyu.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	sim := sandbox.NewLogin("wxtestapp", "test-secret", nil)
	client := &wechat.LoginClient{AppID: "wxtestapp", AppSecret: "test-secret",
		HTTP: &http.Client{Transport: sandbox.Transport(sim)}}
	clk := clock.NewFake(time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC))
	keys := &keyRecorder{next: client}
	return env{svc: &identity.Service{Store: store, Clock: clk, WeChat: keys}, clock: clk, sim: sim, keys: keys}
}

// keyRecorder remembers every session_key WeChat handed out, so a test can
// look for them where they must not be.
type keyRecorder struct {
	next identity.WeChat
	mu   sync.Mutex
	keys []string
}

func (r *keyRecorder) Code2Session(ctx context.Context, code string) (identity.WeChatSession, error) {
	s, err := r.next.Code2Session(ctx, code)
	if err == nil {
		r.mu.Lock()
		r.keys = append(r.keys, s.SessionKey)
		r.mu.Unlock()
	}
	return s, err
}

func wantErr(t *testing.T, err error, kind errs.Kind, code string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != kind || e.Code != code {
		t.Fatalf("err = %v, want %v %q", err, kind, code)
	}
}

func TestLoginTheSameUserIsTheSameBuyer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok1, b1, exp, err := e.svc.Login(ctx, "alice.1")
	if err != nil {
		t.Fatal(err)
	}
	if want := e.clock.Now().Add(identity.DefaultBuyerTTL); !exp.Equal(want) {
		t.Fatalf("expires at %v, want %v (7 days)", exp, want)
	}
	tok2, b2, _, err := e.svc.Login(ctx, "alice.2")
	if err != nil {
		t.Fatal(err)
	}
	if b1.ID != b2.ID || b1.OpenID != e.sim.OpenID("alice") {
		t.Fatalf("alice logged in as %s then %s", b1.ID, b2.ID)
	}
	if tok1 == tok2 || len(tok1) != 43 {
		t.Fatalf("tokens %q and %q: want two distinct 256-bit tokens", tok1, tok2)
	}
	for _, tok := range []string{tok1, tok2} {
		p, err := e.svc.Authenticate(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind != identity.KindBuyer || p.ID != b1.ID || p.Role != "" || p.SessionID == "" {
			t.Fatalf("principal = %+v", p)
		}
	}
	_, bob, _, err := e.svc.Login(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if bob.ID == b1.ID {
		t.Fatal("bob logged in as alice")
	}
}

func TestLoginRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, _, _, err := e.svc.Login(ctx, "carol.1"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		code string
		kind errs.Kind
		want string
	}{
		{"a code used twice", "carol.1", errs.Unauthorized, "invalid_login_code"},
		{"an invalid code (40029)", "invalid.7", errs.Unauthorized, "invalid_login_code"},
		{"WeChat's rate limit (45011)", "ratelimit.1", errs.TooMany, "login_rate_limited"},
		{"WeChat busy (-1)", "busy.1", errs.Unavailable, "wechat_unavailable"},
		{"no code", "  ", errs.Invalid, "required"},
		{"an absurd code", strings.Repeat("x", 300), errs.Unauthorized, "invalid_login_code"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, b, _, err := e.svc.Login(ctx, tc.code)
			if tok != "" || b != nil {
				t.Fatalf("a refused login returned a token %q or buyer %+v", tok, b)
			}
			wantErr(t, err, tc.kind, tc.want)
		})
	}
}

func TestSessionExpiresAndLogsOut(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok, _, exp, err := e.svc.Login(ctx, "dave")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(exp.Sub(e.clock.Now()) - time.Microsecond)
	if _, err := e.svc.Authenticate(ctx, tok); err != nil {
		t.Fatalf("a microsecond before expiry: %v", err)
	}
	e.clock.Advance(time.Microsecond)
	_, err = e.svc.Authenticate(ctx, tok)
	wantErr(t, err, errs.Unauthorized, "unauthenticated")

	tok, _, _, err = e.svc.Login(ctx, "dave.2")
	if err != nil {
		t.Fatal(err)
	}
	other, _, _, err := e.svc.Login(ctx, "dave.3")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Logout(ctx, tok); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Authenticate(ctx, tok)
	wantErr(t, err, errs.Unauthorized, "unauthenticated")
	wantErr(t, e.svc.Logout(ctx, tok), errs.Unauthorized, "unauthenticated")
	if _, err := e.svc.Authenticate(ctx, other); err != nil {
		t.Fatalf("logging out one session ended another: %v", err)
	}

	for _, bad := range []string{"", "nonsense", strings.Repeat("a", 43), strings.Repeat("a", 4096)} {
		_, err := e.svc.Authenticate(ctx, bad)
		wantErr(t, err, errs.Unauthorized, "unauthenticated")
	}

	// Expired sessions are purged; live ones stay.
	e.clock.Advance(identity.DefaultBuyerTTL + time.Hour)
	live, _, _, err := e.svc.Login(ctx, "dave.4")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.PurgeSessions(ctx, 0); err != nil || n != 3 {
		t.Fatalf("PurgeSessions = %d, %v; want the 3 expired sessions", n, err)
	}
	if _, err := e.svc.Authenticate(ctx, live); err != nil {
		t.Fatal(err)
	}
}

func TestSessionKeyStaysOnTheServer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok, b, exp, err := e.svc.Login(ctx, "erin")
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.svc.CreateAddress(ctx, b.ID, identity.AddressInput{Name: "王五", Phone: "13912345678",
		Province: "广东省", City: "深圳市", District: "南山区", Detail: "科技园1栋"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal([]any{tok, b, exp, p, a, a.Masked()})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.keys.keys) != 1 || e.keys.keys[0] == "" {
		t.Fatalf("recorded session keys %q", e.keys.keys)
	}
	key := e.keys.keys[0]
	if strings.Contains(string(out), key) || strings.Contains(string(out), b.OpenID) {
		t.Fatalf("session_key or openid in a response: %s", out)
	}
	ws := identity.WeChatSession{OpenID: "o1", SessionKey: key}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(f, ws); strings.Contains(s, key) {
			t.Errorf("formatting with %s shows the session_key: %s", f, s)
		}
	}
	if j, _ := json.Marshal(ws); strings.Contains(string(j), key) {
		t.Errorf("JSON shows the session_key: %s", j)
	}
}

func TestOperators(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o, err := e.svc.CreateOperator(ctx, "  Owner@Shop.Example ", "correct horse battery", identity.Owner)
	if err != nil {
		t.Fatal(err)
	}
	if o.Email != "owner@shop.example" || o.Role != identity.Owner || !strings.HasPrefix(o.PasswordHash, "$argon2id$") {
		t.Fatalf("operator = %+v", o)
	}
	if j, _ := json.Marshal(o); strings.Contains(string(j), "argon2") {
		t.Fatalf("the password hash is in the JSON: %s", j)
	}
	_, err = e.svc.CreateOperator(ctx, "OWNER@shop.example", "another password", identity.Finance)
	wantErr(t, err, errs.Conflict, "email_taken")

	_, err = e.svc.CreateOperator(ctx, "not an email", "short", "boss")
	fields := map[string]string{}
	for _, f := range errs.Fields(err) {
		fields[f.Field] = f.Code
	}
	want := map[string]string{"email": "invalid_email", "password": "password_too_short", "role": "invalid_role"}
	if fmt.Sprint(fields) != fmt.Sprint(want) {
		t.Fatalf("field errors = %v, want %v", fields, want)
	}
	for _, bad := range []string{"Name <a@b.example>", "a@b", "@shop.example", "a@shop.example."} {
		_, err := e.svc.CreateOperator(ctx, bad, "long enough password", identity.Operator)
		wantErr(t, err, errs.Invalid, "invalid_email")
	}

	tok, got, exp, err := e.svc.OperatorLogin(ctx, "OWNER@shop.example", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != o.ID || !exp.Equal(e.clock.Now().Add(identity.DefaultOperatorTTL)) {
		t.Fatalf("logged in as %+v until %v", got, exp)
	}
	p, err := e.svc.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != identity.KindOperator || p.ID != o.ID || p.Role != identity.Owner {
		t.Fatalf("principal = %+v", p)
	}

	// A wrong password and an unknown email are one answer.
	for _, c := range []struct{ email, password string }{
		{"owner@shop.example", "wrong password!"},
		{"nobody@shop.example", "correct horse battery"},
		{"", ""},
		{"owner@shop.example", strings.Repeat("x", 5000)},
	} {
		tok, o, _, err := e.svc.OperatorLogin(ctx, c.email, c.password)
		if tok != "" || o != nil {
			t.Fatalf("a failed login returned %q, %+v", tok, o)
		}
		wantErr(t, err, errs.Unauthorized, "invalid_credentials")
	}

	e.clock.Advance(identity.DefaultOperatorTTL)
	_, err = e.svc.Authenticate(ctx, tok)
	wantErr(t, err, errs.Unauthorized, "unauthenticated")
}

func TestAddresses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, alice, _, err := e.svc.Login(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	_, bob, _, err := e.svc.Login(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	in := identity.AddressInput{Name: " 张三 ", Phone: "+86 138-1234-5678", Province: "北京市", City: "北京市",
		District: "朝阳区", Detail: "建国路88号1号楼2单元301"}
	a, err := e.svc.CreateAddress(ctx, alice.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "张三" || a.Phone != "13812345678" || !a.IsDefault {
		t.Fatalf("created %+v: want trimmed name, bare phone, default as the first", a)
	}

	_, err = e.svc.CreateAddress(ctx, alice.ID, identity.AddressInput{Name: strings.Repeat("名", 31),
		Phone: "12812345678", Province: "", City: "x", District: "x", Detail: "line\nbreak"})
	got := map[string]string{}
	for _, f := range errs.Fields(err) {
		got[f.Field] = f.Code
	}
	want := map[string]string{"name": "too_long", "phone": "invalid_phone", "province": "required", "detail": "invalid_characters"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("field errors = %v, want %v", got, want)
	}

	ship, err := e.svc.ShipTo(ctx, alice.ID, a.ID)
	if err != nil || ship != *a {
		t.Fatalf("ShipTo = %+v, %v; want %+v", ship, err, a)
	}
	_, err = e.svc.ShipTo(ctx, bob.ID, a.ID)
	wantErr(t, err, errs.NotFound, "address_not_found")
	_, err = e.svc.Address(ctx, bob.ID, a.ID)
	wantErr(t, err, errs.NotFound, "address_not_found")
	_, err = e.svc.UpdateAddress(ctx, bob.ID, a.ID, in)
	wantErr(t, err, errs.NotFound, "address_not_found")
	wantErr(t, e.svc.DeleteAddress(ctx, bob.ID, a.ID), errs.NotFound, "address_not_found")

	e.clock.Advance(time.Minute)
	in.Detail, in.IsDefault = "幸福小区3栋", true
	up, err := e.svc.UpdateAddress(ctx, alice.ID, a.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if up.Detail != "幸福小区3栋" || !up.UpdatedAt.Equal(e.clock.Now()) || !up.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("updated %+v", up)
	}

	for range identity.MaxAddresses - 1 {
		if _, err := e.svc.CreateAddress(ctx, alice.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	_, err = e.svc.CreateAddress(ctx, alice.ID, in)
	wantErr(t, err, errs.Conflict, "address_limit")
	list, err := e.svc.Addresses(ctx, alice.ID)
	if err != nil || len(list) != identity.MaxAddresses {
		t.Fatalf("%d addresses, %v", len(list), err)
	}
	defaults := 0
	for _, x := range list {
		if x.IsDefault {
			defaults++
		}
	}
	if defaults != 1 || !list[0].IsDefault {
		t.Fatalf("%d defaults, first listed default=%v; want exactly one, first", defaults, list[0].IsDefault)
	}

	if err := e.svc.DeleteAddress(ctx, alice.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Address(ctx, alice.ID, a.ID)
	wantErr(t, err, errs.NotFound, "address_not_found")
}
