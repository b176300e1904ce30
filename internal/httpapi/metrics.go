package httpapi

import (
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the HTTP layer's Prometheus series. Labels are bounded: the
// route is the mux pattern, never the raw path.
type metrics struct {
	requests           *prometheus.CounterVec
	duration           *prometheus.HistogramVec
	ordersPlaced       prometheus.Counter
	reservationsFailed prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siyu_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "siyu_http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by route pattern.",
			// From 1 ms to 10 s: an order placement should sit well under
			// 25 ms; the long tail shows lock waits and slow databases.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		ordersPlaced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "siyu_orders_placed_total",
			Help: "Orders placed through the buyer API.",
		}),
		reservationsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "siyu_stock_reservations_failed_total",
			Help: "Order placements refused because a SKU was out of stock.",
		}),
	}
	m.requests = register(reg, m.requests)
	m.duration = register(reg, m.duration)
	m.ordersPlaced = register(reg, m.ordersPlaced)
	m.reservationsFailed = register(reg, m.reservationsFailed)
	return m
}

// register adds c to reg, or returns the collector already registered under
// its name, so two handlers built on one registry (a test building the app
// twice) share their series instead of panicking.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

func (m *metrics) observe(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, methodLabel(method), strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// methodLabel bounds the method label: a client may send any token as a
// method, and each would otherwise become a series.
func methodLabel(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return m
	}
	return "other"
}
