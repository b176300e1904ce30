package rush

import (
	"strconv"
)

// Kind is why a request is sent.
type Kind uint8

const (
	// Fresh: the buyer's next press of "buy", with a new request id.
	Fresh Kind = iota
	// Retry: an earlier request sent again, same buyer and same request id,
	// as a client does when an answer is lost or slow. The server must
	// answer it as the same request (a repeat win takes nothing more).
	Retry
	// Second: a buyer who already asked asks again with a new request id
	// (a second tap, a second device). Only the per-buyer limit stops him.
	Second
)

func (k Kind) String() string {
	switch k {
	case Retry:
		return "retry"
	case Second:
		return "second"
	}
	return "fresh"
}

// Mix decides who sends request n and with which request id. It is a pure
// function of n, so concurrent workers need no lock and a run can be
// replayed: request n is a retry of an earlier request with probability
// Retry, a second request of an earlier request's buyer with probability
// Second, else a fresh request of buyer n mod Buyers (every buyer asks once
// before any asks a second time through this path).
type Mix struct {
	Buyers int
	Retry  float64 // share of requests that resend an earlier one
	Second float64 // share of requests that are a buyer's further request
	Seed   uint64
	// IDPrefix starts every request id; it must make them unique to the
	// run and phase (ids are 8 to 64 characters of [A-Za-z0-9_-]).
	IDPrefix string
}

// Ask is one request's sender and id.
type Ask struct {
	Buyer     int
	RequestID string
	Kind      Kind
	// Of is the request this one resends (Retry) or whose buyer it reuses
	// (Second); -1 for a fresh one.
	Of int
}

// How far back a retry or a second request reaches, in requests: a retry
// follows its original closely (a client's timeout), a second tap a little
// later.
const (
	retryWindow  = 256
	secondWindow = 2048
)

// Ask returns request n's plan. A retry carries its original's buyer and
// id (a retry of a retry resends the original).
func (m Mix) Ask(n int) Ask {
	kind, of := m.kind(n)
	switch kind {
	case Retry:
		for { // of < n, so this ends
			k, o := m.kind(of)
			if k != Retry {
				break
			}
			of = o
		}
		orig := m.Ask(of)
		return Ask{Buyer: orig.Buyer, RequestID: orig.RequestID, Kind: Retry, Of: of}
	case Second:
		return Ask{Buyer: m.Ask(of).Buyer, RequestID: m.requestID(n), Kind: Second, Of: of}
	}
	return Ask{Buyer: n % max(m.Buyers, 1), RequestID: m.requestID(n), Kind: Fresh, Of: -1}
}

func (m Mix) kind(n int) (Kind, int) {
	if n <= 0 {
		return Fresh, -1
	}
	h := splitmix(m.Seed ^ uint64(n)*0x9e3779b97f4a7c15)
	u := float64(h>>11) / (1 << 53)
	back := int(splitmix(h) >> 1)
	switch {
	case u < m.Retry:
		return Retry, n - 1 - back%min(n, retryWindow)
	case u < m.Retry+m.Second:
		return Second, n - 1 - back%min(n, secondWindow)
	}
	return Fresh, -1
}

func (m Mix) requestID(n int) string {
	return m.IDPrefix + "-" + strconv.FormatInt(int64(n), 36)
}

// splitmix is SplitMix64's output function: a fast, well-mixed hash of n.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
