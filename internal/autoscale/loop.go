package autoscale

import (
	"context"
	"log/slog"
	"sync"
	"time"

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
	// SetDesired asks for n replicas. The platform starts replicas, or
	// stops them through the termination sequence.
	SetDesired(n int, d Decision)
}

// Loop samples one app, decides, and applies the decision. Create it with
// NewLoop, run it with Run, and wake it with Poke when requests start
// queueing. Its methods are safe for concurrent use.
type Loop struct {
	app    Scalable
	every  time.Duration
	now    func() time.Time
	log    *slog.Logger
	pokeCh chan struct{}

	mu     sync.Mutex
	policy Policy
	state  State
	last   Decision
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

// NewLoop returns a loop for app under policy p.
func NewLoop(app Scalable, p Policy, o LoopOptions) *Loop {
	if o.Every <= 0 {
		o.Every = 250 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Loop{app: app, every: o.Every, now: o.Now, log: o.Logger, policy: p,
		pokeCh: make(chan struct{}, 1), cpu: map[int]cpuMark{}}
}

// SetPolicy replaces the policy, for a new revision or `ebb scale`.
func (l *Loop) SetPolicy(p Policy) {
	l.mu.Lock()
	l.policy = p
	l.mu.Unlock()
	l.Poke()
}

// Poke asks for an evaluation now: the router calls it when a request
// starts to wait, so that scale-out does not wait for the next tick.
// It never blocks.
func (l *Loop) Poke() {
	select {
	case l.pokeCh <- struct{}{}:
	default:
	}
}

// Last returns the policy and the last decision, for status output.
func (l *Loop) Last() (Policy, Decision) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.policy, l.last
}

// Run evaluates every period and on every Poke until ctx ends.
func (l *Loop) Run(ctx context.Context) error {
	t := time.NewTicker(l.every)
	defer t.Stop()
	l.Step()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-l.pokeCh:
		}
		l.Step()
	}
}

// Step takes one sample, decides and applies the decision.
func (l *Loop) Step() Decision {
	obs := l.app.Observe()
	now := l.now()
	l.mu.Lock()
	s := Sample{At: now, InFlight: obs.InFlight, Queued: obs.Queued, Requests: obs.Requests}
	if l.policy.Metric == "cpu_utilization" || l.policy.Metric == "memory_utilization" {
		s.CPUCores, s.MemoryGB = l.usageLocked(now, obs.Groups)
	}
	l.window.Add(s, l.policy.Window)
	prev := l.state.Desired
	d, st := Decide(now, l.state, l.window.Samples(), l.policy)
	l.state, l.last = st, d
	l.mu.Unlock()
	if d.Changed {
		l.log.Info("scaling", "from", prev, "to", d.Desired, "reason", d.Reason)
	}
	l.app.SetDesired(d.Desired, d)
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
