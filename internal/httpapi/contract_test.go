package httpapi_test

// The contract test: every response any test in this package gets through
// a client is checked against api/openapi.yaml for its path template,
// method, status and content type, and at the end of an unfiltered run every
// operation of the spec must have answered at least one success.

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/siyu-commerce/siyu/api"
)

// contract is the loaded spec and what the tests have exercised of it.
type contract struct {
	doc      map[string]any
	compiler *jsonschema.Compiler

	mu      sync.Mutex
	schemas map[string]*jsonschema.Schema // by JSON pointer into the spec
	hit     map[string]bool               // "METHOD /template" answered with a 2xx
}

const specURL = "https://siyu.invalid/openapi.json"

var (
	loadOnce sync.Once
	theSpec  *contract
	loadErr  error
)

func spec(t testing.TB) *contract {
	t.Helper()
	loadOnce.Do(func() { theSpec, loadErr = loadContract() })
	if loadErr != nil {
		t.Fatalf("load the contract: %v", loadErr)
	}
	return theSpec
}

func loadContract() (*contract, error) {
	b, err := api.OpenAPIJSON()
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(specURL, doc); err != nil {
		return nil, err
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the spec is not an object")
	}
	if v, _ := m["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		return nil, fmt.Errorf("openapi %q, want 3.1.x", v)
	}
	return &contract{doc: m, compiler: c, schemas: map[string]*jsonschema.Schema{}, hit: map[string]bool{}}, nil
}

// operations lists "METHOD /template" of every operation in the spec.
func (c *contract) operations() []string {
	var ops []string
	for path, item := range c.doc["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options":
				ops = append(ops, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

// template finds the path template a concrete path matches; of several,
// the one with the most literal segments wins (/stock/adjustments over
// /stock/{sku_id}).
func (c *contract) template(path string) (string, bool) {
	segs := strings.Split(path, "/")
	best, bestLit := "", -1
	for tpl := range c.doc["paths"].(map[string]any) {
		ts := strings.Split(tpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		lit, ok := 0, true
		for i, s := range ts {
			switch {
			case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
				ok = ok && segs[i] != ""
			case s == segs[i]:
				lit++
			default:
				ok = false
			}
		}
		if ok && lit > bestLit {
			best, bestLit = tpl, lit
		}
	}
	return best, bestLit >= 0
}

func pointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// lookup follows a JSON pointer ("#/a/b") in the spec.
func (c *contract) lookup(ptr string) (any, bool) {
	var v any = c.doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "#/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return v, true
}

// schema compiles (once) the schema at a pointer into the spec.
func (c *contract) schema(ptr string) (*jsonschema.Schema, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.schemas[ptr]; ok {
		return s, nil
	}
	// Braces of path templates are not valid in a URL fragment as is.
	frag := strings.NewReplacer("{", "%7B", "}", "%7D").Replace(ptr)
	s, err := c.compiler.Compile(specURL + frag)
	if err != nil {
		return nil, err
	}
	c.schemas[ptr] = s
	return s, nil
}

// check validates one response against the contract.
func (c *contract) check(t testing.TB, method, target string, r reply) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	where := fmt.Sprintf("%s %s -> %d", method, target, r.Status)
	if r.Header.Get("X-Request-Id") == "" {
		t.Errorf("%s: no X-Request-Id", where)
	}
	tpl, ok := c.template(u.Path)
	if !ok {
		t.Errorf("%s: the path is not in the contract", where)
		return
	}
	opPtr := "#/paths/" + pointerToken(tpl) + "/" + strings.ToLower(method)
	if _, ok := c.lookup(opPtr); !ok {
		t.Errorf("%s: %s %s is not in the contract", where, method, tpl)
		return
	}
	respPtr := opPtr + "/responses/" + strconv.Itoa(r.Status)
	resp, ok := c.lookup(respPtr)
	if !ok {
		t.Errorf("%s: status %d is not documented for %s %s; body %s", where, r.Status, method, tpl, r.Body)
		return
	}
	if ref, ok := resp.(map[string]any)["$ref"].(string); ok {
		respPtr = ref
		if resp, ok = c.lookup(ref); !ok {
			t.Errorf("%s: dangling $ref %s", where, ref)
			return
		}
	}
	content, hasContent := resp.(map[string]any)["content"].(map[string]any)
	if !hasContent {
		if len(r.Body) > 0 {
			t.Errorf("%s: the contract documents no body, got %q", where, r.Body)
		}
	} else {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil {
			t.Errorf("%s: content type %q: %v", where, r.Header.Get("Content-Type"), err)
			return
		}
		if _, ok := content[mt]; !ok {
			t.Errorf("%s: content type %s is not documented", where, mt)
			return
		}
		if mt == "application/json" || strings.HasSuffix(mt, "+json") {
			sch, err := c.schema(respPtr + "/content/" + pointerToken(mt) + "/schema")
			if err != nil {
				t.Errorf("%s: compile the schema: %v", where, err)
				return
			}
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Body))
			if err != nil {
				t.Errorf("%s: the body is not JSON: %v\n%s", where, err, r.Body)
				return
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("%s: the body breaks the contract: %v\n%s", where, err, r.Body)
			}
		}
	}
	if r.Status >= 200 && r.Status < 300 {
		c.mu.Lock()
		c.hit[method+" "+tpl] = true
		c.mu.Unlock()
	}
}

// unexercised lists the operations no test got a success from.
func (c *contract) unexercised() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, op := range c.operations() {
		if !c.hit[op] {
			out = append(out, op)
		}
	}
	return out
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	// Coverage only means something when every test ran.
	filtered := flag.Lookup("test.run").Value.String() != "" || flag.Lookup("test.skip").Value.String() != ""
	if code == 0 && !filtered && !testing.Short() && theSpec != nil {
		if missing := theSpec.unexercised(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "contract: %d operations were never answered with a success by any test:\n  %s\n",
				len(missing), strings.Join(missing, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

// reply is one response as the tests see it.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// problem is the part of a problem body the tests look at.
type problem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Field  string `json:"field"`
	Detail string `json:"detail"`
	Errors []struct {
		Field string `json:"field"`
		Code  string `json:"code"`
	} `json:"errors"`
}

func (r reply) problem(t testing.TB) problem {
	t.Helper()
	var p problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("not a problem: %s", r.Body)
	}
	return p
}

// hasField reports whether the problem names field, alone or in its list.
func (p problem) hasField(field string) bool {
	if p.Field == field {
		return true
	}
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}

// client calls the handler as one caller, checking every response against
// the contract.
type client struct {
	t     testing.TB
	h     http.Handler
	token string
}

// raw is a request body sent exactly as given.
type raw string

func (c *client) as(token string) *client { return &client{t: c.t, h: c.h, token: token} }

// do sends a request: body is nil, a raw, or a value sent as JSON; hdr are
// header name/value pairs.
func (c *client) do(method, target string, body any, hdr ...string) reply {
	c.t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case raw:
		rd = bytes.NewReader([]byte(b))
	default:
		js, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, req)
	r := reply{Status: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
	spec(c.t).check(c.t, method, target, r)
	return r
}

// must sends a request and fails the test unless it gets want, decoding
// the body into out when out is not nil.
func (c *client) must(want int, method, target string, body, out any, hdr ...string) reply {
	c.t.Helper()
	r := c.do(method, target, body, hdr...)
	if r.Status != want {
		c.t.Fatalf("%s %s: got %d, want %d: %s", method, target, r.Status, want, r.Body)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			c.t.Fatalf("%s %s: decode %T: %v", method, target, out, err)
		}
	}
	return r
}

func TestContractDocument(t *testing.T) {
	c := spec(t)
	ops := c.operations()
	if len(ops) < 39 {
		t.Fatalf("only %d operations", len(ops))
	}
	// Every documented response schema compiles: a broken $ref fails here
	// rather than the first time a test happens to get that status.
	for _, op := range ops {
		method, tpl, _ := strings.Cut(op, " ")
		opPtr := "#/paths/" + pointerToken(tpl) + "/" + strings.ToLower(method)
		o, _ := c.lookup(opPtr)
		if id, _ := o.(map[string]any)["operationId"].(string); id == "" {
			t.Errorf("%s has no operationId", op)
		}
		resps, _ := o.(map[string]any)["responses"].(map[string]any)
		for status, resp := range resps {
			ptr := opPtr + "/responses/" + status
			if ref, ok := resp.(map[string]any)["$ref"].(string); ok {
				ptr = ref
				resp, _ = c.lookup(ref)
			}
			content, _ := resp.(map[string]any)["content"].(map[string]any)
			for mt := range content {
				if _, err := c.schema(ptr + "/content/" + pointerToken(mt) + "/schema"); err != nil {
					t.Errorf("%s %s %s: %v", op, status, mt, err)
				}
			}
		}
	}
}

// recordingTB collects the failures check reports instead of failing.
type recordingTB struct {
	testing.TB
	errs []string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestContractChecker proves the checker catches what it must: a test that
// passes because the checker looks at nothing would prove nothing.
func TestContractChecker(t *testing.T) {
	c := spec(t)
	hdr := func(ct string) http.Header {
		h := http.Header{"X-Request-Id": {"r"}}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		return h
	}
	prob := `{"type":"urn:siyu:problem:x","title":"Not Found","status":404,"detail":"d","code":"order_not_found","request_id":"r"}`
	cases := []struct {
		name, method, target string
		r                    reply
		bad                  bool
	}{
		{"valid problem", "GET", "/api/v1/orders/x", reply{404, hdr("application/problem+json"), []byte(prob)}, false},
		{"valid health", "GET", "/healthz", reply{200, hdr("application/json"), []byte(`{"status":"ok"}`)}, false},
		{"no request id", "GET", "/healthz", reply{200, http.Header{"Content-Type": {"application/json"}}, []byte(`{"status":"ok"}`)}, true},
		{"undocumented status", "GET", "/healthz", reply{418, hdr("application/json"), []byte(`{}`)}, true},
		{"undocumented path", "GET", "/api/v1/secrets", reply{200, hdr("application/json"), []byte(`{}`)}, true},
		{"undocumented method", "PATCH", "/healthz", reply{200, hdr("application/json"), []byte(`{}`)}, true},
		{"wrong media type", "GET", "/api/v1/orders/x", reply{404, hdr("application/json"), []byte(prob)}, true},
		{"extra field", "GET", "/healthz", reply{200, hdr("application/json"), []byte(`{"status":"ok","debug":1}`)}, true},
		{"bad enum", "GET", "/healthz", reply{200, hdr("application/json"), []byte(`{"status":"meh"}`)}, true},
		{"missing field", "GET", "/api/v1/orders/x", reply{404, hdr("application/problem+json"), []byte(`{"status":404}`)}, true},
		{"money as a float", "GET", "/api/v1/cart", reply{200, hdr("application/json"), []byte(`{"lines":[],"subtotal":19.99}`)}, true},
		{"money as a string", "GET", "/api/v1/cart", reply{200, hdr("application/json"), []byte(`{"lines":[],"subtotal":"1999"}`)}, true},
		{"a bad uuid", "GET", "/api/v1/cart", reply{200, hdr("application/json"), []byte(`{"lines":[{"sku_id":"x"}],"subtotal":0}`)}, true},
		{"a body where none is documented", "DELETE", "/api/v1/sessions/current", reply{204, hdr(""), []byte(`{}`)}, true},
	}
	for _, tc := range cases {
		rec := &recordingTB{TB: t}
		c.check(rec, tc.method, tc.target, tc.r)
		if got := len(rec.errs) > 0; got != tc.bad {
			t.Errorf("%s: failures %q, want failing %v", tc.name, rec.errs, tc.bad)
		}
	}
}
