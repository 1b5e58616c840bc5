package platform

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// codeCounts counts responses by status code without locks.
type codeCounts struct {
	c [600]atomic.Uint64
}

func (cc *codeCounts) add(code int) {
	if code < 0 || code >= len(cc.c) {
		code = 0
	}
	cc.c[code].Add(1)
}

// each calls f for every code seen.
func (cc *codeCounts) each(f func(code int, n uint64)) {
	for i := range cc.c {
		if n := cc.c[i].Load(); n > 0 {
			f(i, n)
		}
	}
}

// metrics is the platform's Prometheus registry: a collector that reads
// the apps' atomics at scrape time, plus the histograms and counters that
// events feed.
type metrics struct {
	reg         *prometheus.Registry
	coldStarts  *prometheus.HistogramVec
	transitions *prometheus.CounterVec
}

func newMetrics(p *Platform) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		coldStarts: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ebb_cold_start_seconds",
			Help:    "Time from starting a replica's process to its readiness check passing.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2, 5, 10, 30, 60},
		}, []string{"app"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebb_replica_state_changes_total",
			Help: "Replica state changes, by the state entered.",
		}, []string{"app", "state"}),
	}
	m.reg.MustRegister(m.coldStarts, m.transitions, &collector{p: p})
	return m
}

func (m *metrics) coldStart(app string, d time.Duration) {
	m.coldStarts.WithLabelValues(app).Observe(d.Seconds())
}

func (m *metrics) stateChange(app string, s State) {
	m.transitions.WithLabelValues(app, s.String()).Inc()
}

// collector exports the live values of every app and replica.
type collector struct{ p *Platform }

var (
	descInFlight = prometheus.NewDesc("ebb_replica_in_flight", "Requests a replica holds.", []string{"app", "revision", "replica", "state"}, nil)
	descQueue    = prometheus.NewDesc("ebb_queue_depth", "Requests waiting for a free replica.", []string{"app"}, nil)
	descRequests = prometheus.NewDesc("ebb_requests_total", "Requests answered, by status code.", []string{"app", "code"}, nil)
	descReplicas = prometheus.NewDesc("ebb_replicas", "Replicas by state.", []string{"app", "state"}, nil)
	descDesired  = prometheus.NewDesc("ebb_replicas_desired", "The replica count the platform is keeping.", []string{"app"}, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInFlight, descQueue, descRequests, descReplicas, descDesired} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, a := range c.p.Apps() {
		st := a.Status()
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(st.Queued), a.name)
		ch <- prometheus.MustNewConstMetric(descDesired, prometheus.GaugeValue, float64(st.Desired), a.name)
		byState := map[State]int{}
		for _, v := range st.Revisions {
			for _, r := range v.Replicas {
				byState[r.State]++
				ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(r.InFlight),
					a.name, strconv.Itoa(v.N), r.ID, r.State.String())
			}
		}
		for s := Starting; s <= Stopped; s++ {
			ch <- prometheus.MustNewConstMetric(descReplicas, prometheus.GaugeValue, float64(byState[s]), a.name, s.String())
		}
		a.codes.each(func(code int, n uint64) {
			ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(n), a.name, strconv.Itoa(code))
		})
		a.queueHist.Collect(ch)
	}
}
