package autoscale

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ebb-run/ebb/config"
	"github.com/ebb-run/ebb/internal/procstat"
)

// Observation is what the platform reports of an app at one instant.
type Observation struct {
	InFlight int    // requests being served by its replicas
	Queued   int    // requests waiting in the router
	Requests uint64 // requests received so far
	Groups   []int  // process group ids of its running replicas
}

// Scalable is the app the loop scales, as the platform provides it.
type Scalable interface {
	// Observe reports the app's current load.
	Observe() Observation
	// SetDesired asks for d.Desired replicas, decided under p. The
	// platform starts replicas, or stops them through the termination
	// sequence.
	SetDesired(p Policy, d Decision)
}

// Loop samples one app, decides, and applies the decision. Create it with
// NewLoop and run it with Run. Its methods are safe for concurrent use.
type Loop struct {
	app    Scalable
	policy func() Policy
	every  time.Duration
	now    func() time.Time
	log    *slog.Logger

	mu     sync.Mutex
	state  State
	window Window
	cpu    map[int]cpuMark // per process group: the last CPU reading
}

type cpuMark struct {
	at      time.Time
	seconds float64
}

// LoopOptions tune a Loop. Zero values take the defaults.
type LoopOptions struct {
	// Every is the sampling period (default 250 ms). The window is
	// averaged over these samples.
	Every time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives one line per change of the desired count.
	Logger *slog.Logger
}

// NewLoop returns a loop for app. policy is read at every step, so that a
// new revision or `ebb scale` takes effect at once.
func NewLoop(app Scalable, policy func() Policy, o LoopOptions) *Loop {
	if o.Every <= 0 {
		o.Every = 250 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Loop{app: app, policy: policy, every: o.Every, now: o.Now, log: o.Logger, cpu: map[int]cpuMark{}}
}

// Run evaluates every period, and at once whenever wake receives (the
// platform's signal that requests started to queue, so that scale-out
// does not wait for the next tick), until ctx ends.
func (l *Loop) Run(ctx context.Context, wake <-chan struct{}) {
	t := time.NewTicker(l.every)
	defer t.Stop()
	for {
		l.Step()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
	}
}

// Step takes one sample, decides and applies the decision.
func (l *Loop) Step() Decision {
	obs := l.app.Observe()
	p := l.policy()
	now := l.now()
	l.mu.Lock()
	s := Sample{At: now, InFlight: obs.InFlight, Queued: obs.Queued, Requests: obs.Requests}
	if p.Metric == config.MetricCPU || p.Metric == config.MetricMemory {
		s.CPUCores, s.MemoryGB = l.usageLocked(now, obs.Groups)
	}
	l.window.Add(s, p.Window)
	prev := l.state.Desired
	d, st := Decide(now, l.state, l.window.Samples(), p)
	l.state = st
	l.mu.Unlock()
	if d.Changed {
		l.log.Info("scaling", "from", prev, "to", d.Desired, "reason", d.Reason)
	}
	l.app.SetDesired(p, d)
	return d
}

// usageLocked returns the cores and GB the groups use now. Cores are the
// CPU time used since the previous reading of the same group, over the
// time between them. Called with l.mu held.
func (l *Loop) usageLocked(now time.Time, groups []int) (cores, gb float64) {
	seen := make(map[int]bool, len(groups))
	for _, g := range groups {
		u, err := procstat.Group(g)
		if err != nil || u.Processes == 0 {
			continue
		}
		seen[g] = true
		gb += float64(u.RSSBytes) / 1e9
		if m, ok := l.cpu[g]; ok && now.After(m.at) && u.CPUSeconds >= m.seconds {
			cores += (u.CPUSeconds - m.seconds) / now.Sub(m.at).Seconds()
		}
		l.cpu[g] = cpuMark{at: now, seconds: u.CPUSeconds}
	}
	for g := range l.cpu {
		if !seen[g] {
			delete(l.cpu, g)
		}
	}
	return cores, gb
}
