// Package sandbox simulates WeChat's server APIs for sandbox mode and tests:
// code2Session now, and the pay simulator beside it later. The production
// clients talk to a simulator unchanged, over Transport, which serves their
// requests in process.
package sandbox

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Transport returns a RoundTripper that serves every request with h in this
// process, whatever the request's host: give a production client
// &http.Client{Transport: sandbox.Transport(sim)} and it talks to the
// simulator without a listening socket.
func Transport(h http.Handler) http.RoundTripper { return transport{h} }

type transport struct{ h http.Handler }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A server sees a request with a body, a RequestURI and a remote
	// address; handlers (and the pay simulator's signature checks) rely on
	// them. The body is read up front so the caller's can be closed, as
	// the RoundTripper contract requires.
	in := req.Clone(req.Context())
	in.Body = http.NoBody
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		in.Body = io.NopCloser(bytes.NewReader(b))
		in.ContentLength = int64(len(b))
	}
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "192.0.2.1:443" // TEST-NET-1: never a real peer
	if in.Host == "" {
		in.Host = req.URL.Host
	}

	rec := newRecorder()
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		t.h.ServeHTTP(rec, in)
	}()
	// A client timeout must work as it does over a network, even against a
	// handler told to hang.
	select {
	case <-req.Context().Done():
		return nil, req.Context().Err()
	case p := <-done:
		if p != nil {
			return nil, fmt.Errorf("sandbox: handler panicked: %v", p)
		}
	}
	return rec.response(req), nil
}

// recorder buffers one response. Headers changed after WriteHeader are
// ignored, as on a real connection.
type recorder struct {
	header  http.Header
	sent    http.Header
	status  int
	body    bytes.Buffer
	written bool
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.written {
		return
	}
	r.written = true
	r.status = status
	r.sent = r.header.Clone()
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.written {
		if r.header.Get("Content-Type") == "" {
			r.header.Set("Content-Type", http.DetectContentType(b))
		}
		r.WriteHeader(http.StatusOK)
	}
	return r.body.Write(b)
}

func (r *recorder) response(req *http.Request) *http.Response {
	r.WriteHeader(http.StatusOK) // a handler that wrote nothing answered 200
	body := r.body.Bytes()
	h := r.sent
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", r.status, http.StatusText(r.status)),
		StatusCode:    r.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}
