// Package rush is the engine of `siyu rush`, the load generator for flash
// sales: it schedules requests, measures their latency in an HDR histogram,
// keeps a tally of what the answers said, checks the sale against the
// database afterwards, and writes the report.
//
// Why open loop. A closed-loop tool (N workers, each sending its next request
// when the previous one answers) slows down with the server it measures: when
// the server stalls for a second, the tool stops sending for a second, and the
// thousands of buyers who would have pressed "buy" in that second are never
// measured ("coordinated omission"). A flash sale's buyers do not wait for
// each other. So the latency phase sends on a fixed schedule of intended send
// times and measures each request from its intended time, not from when it
// actually left: a request that had to wait for a free slot in the bounded
// pool of in-flight requests, or for a slow dispatcher, carries that wait in
// its latency. A closed-loop phase is used for one thing only: finding the
// rate the server can sustain at all, of which the open-loop phase then
// offers a fraction.
//
// Loopback only. The tool fires tens of thousands of requests a second; it
// refuses any target that is not a loopback address, both when it is given
// the base URL and again when it dials.
package rush

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"syscall"
)

// CheckLoopback accepts a base URL only if its host is a loopback address
// (127.0.0.0/8, ::1) or "localhost".
func CheckLoopback(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("rush: target %q: %w", base, err)
	}
	if u.Scheme != "http" {
		return fmt.Errorf("rush: target %q: only http:// on loopback", base)
	}
	if !loopbackHost(u.Hostname()) {
		return fmt.Errorf("rush: target %q is not a loopback address: rush only loads loopback", base)
	}
	return nil
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// loopbackOnly is a dialer Control: a connection to anything but a loopback
// IP is refused after name resolution, whatever the URL said.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("rush: refusing to dial %s: not a loopback address", address)
	}
	return nil
}

// dialLoopback dials only loopback addresses.
func dialLoopback() func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Control: loopbackOnly}
	return d.DialContext
}
