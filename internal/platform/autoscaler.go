package platform

import (
	"context"
	"fmt"
	"time"

	"github.com/ebb-run/ebb/internal/autoscale"
)

// ScalingStatus is the autoscaler's view of an app, for `ebb status`.
type ScalingStatus struct {
	Metric string `json:"metric"`
	// Target is what one replica should carry, in Unit.
	Target float64 `json:"target"`
	// Value is the observed metric, averaged over the evaluation window.
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Desired is the count the autoscaler asks for; Reason says why.
	Desired int    `json:"desired"`
	Reason  string `json:"reason"`
	// Changed is when the desired count last changed.
	Changed time.Time `json:"changed"`
}

func (s *ScalingStatus) clone() *ScalingStatus {
	if s == nil {
		return nil
	}
	c := *s
	return &c
}

// autoscaleEvery is how often the autoscaler samples an app. The window
// (evaluation_interval_seconds) averages these samples.
const autoscaleEvery = 250 * time.Millisecond

// Autoscale scales a by its [cerebrium.scaling] section until ctx ends:
// install it as Options.Autoscaler. It samples the app every 250 ms and
// at once whenever a request has to queue, so that a burst (or the first
// request to an app scaled to zero) starts replicas without waiting for
// the evaluation window. Replicas it removes leave through the termination
// sequence, like every other stop.
func Autoscale(ctx context.Context, a *App) {
	loop := autoscale.NewLoop(&scalable{a: a}, a.autoscalePolicy, autoscale.LoopOptions{Every: autoscaleEvery, Now: a.p.now})
	loop.Run(ctx, a.QueuedSignal())
}

// autoscalePolicy is the current revision's scaling policy within the
// app's bounds (which `ebb scale` may have changed).
func (a *App) autoscalePolicy() autoscale.Policy {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := autoscale.PolicyFrom(&a.current.cfg)
	p.Min, p.Max = a.min, a.max
	return p
}

// scalable adapts an App to autoscale.Scalable.
type scalable struct{ a *App }

func (s *scalable) Observe() autoscale.Observation {
	a := s.a
	o := autoscale.Observation{Queued: a.Queued(), Requests: a.requests.Load()}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, v := range a.revisions {
		for _, r := range v.replicas {
			o.InFlight += r.InFlight()
			if pid := r.pid(); pid > 0 {
				o.Groups = append(o.Groups, pid) // each replica leads its own process group
			}
		}
	}
	return o
}

func (s *scalable) SetDesired(p autoscale.Policy, d autoscale.Decision) {
	a := s.a
	st := &ScalingStatus{Metric: p.Metric, Target: d.Target, Value: d.Value,
		Unit: p.Unit(), Desired: d.Desired, Reason: d.Reason, Changed: a.p.now()}
	a.mu.Lock()
	prev := a.scaling
	changed := prev == nil || d.Changed
	if !changed {
		st.Changed = prev.Changed
	}
	a.scaling = st
	a.mu.Unlock()
	if changed {
		a.logf("autoscale: %s → %d replicas: %s", desiredOr(prev), d.Desired, d.Reason)
	}
	a.SetDesired(d.Desired)
}

func desiredOr(s *ScalingStatus) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprint(s.Desired)
}
