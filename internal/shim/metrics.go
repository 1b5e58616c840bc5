package shim

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the shim's Prometheus metrics, in a registry of their own.
// Per-request updates are an atomic increment on a pre-resolved counter and
// a histogram observation; gauges are read from the shim's atomics only when
// scraped.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  prometheus.Histogram

	mu    sync.Mutex                         // serializes resolving a new code
	codes [600]atomic.Pointer[counterHandle] // by status code; 0 = hijacked/none
}

type counterHandle struct{ c prometheus.Counter }

func newMetrics(s *shim) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ebb_run_requests_total",
		Help: "Requests answered, by status code (0: the connection was hijacked or cut before a status).",
	}, []string{"code"})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ebb_run_request_duration_seconds",
		Help:    "Time from receiving a request to the end of its response, including queueing.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	})
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ebb_run_requests_in_flight",
		Help: "Requests holding a concurrency slot (being processed by the app).",
	}, func() float64 { return float64(s.lim.InFlight()) })
	queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ebb_run_requests_queued",
		Help: "Requests waiting for a concurrency slot or for the app to become ready.",
	}, func() float64 { return float64(s.lim.Queued() + int(s.waitingReady.Load()) + s.fast.held()) })
	capacity := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ebb_run_concurrency_limit",
		Help: "replica_concurrency: the most requests the app is given at once.",
	})
	capacity.Set(float64(s.lim.Capacity()))
	m.reg.MustRegister(m.requests, m.latency, inFlight, queued, capacity,
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector())
	for st := range numStates {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "ebb_run_state",
			Help:        "1 for the shim's current lifecycle state, else 0.",
			ConstLabels: prometheus.Labels{"state": st.String()},
		}, func() float64 {
			if s.state() == st {
				return 1
			}
			return 0
		}))
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ebb_run_cold_start_seconds",
		Help: "Time from starting the app to its first passed readiness check (0 until then).",
	}, func() float64 { return time.Duration(s.coldStart.Load()).Seconds() }))
	for _, c := range []int{200, 503} {
		m.counter(c) // resolve the common codes up front
	}
	return m
}

// observe records one answered request.
func (m *metrics) observe(code int, elapsed time.Duration) {
	m.counter(code).Inc()
	m.latency.Observe(elapsed.Seconds())
}

// counter returns the counter for code, resolving it on first use.
func (m *metrics) counter(code int) prometheus.Counter {
	if code < 0 || code >= len(m.codes) {
		code = 0
	}
	if h := m.codes[code].Load(); h != nil {
		return h.c
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if h := m.codes[code].Load(); h != nil {
		return h.c
	}
	h := &counterHandle{c: m.requests.WithLabelValues(strconv.Itoa(code))}
	m.codes[code].Store(h)
	return h.c
}
