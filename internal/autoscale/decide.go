package autoscale

import (
	"fmt"
	"math"
	"time"

	"github.com/ebb-run/ebb/config"
)

// State is what Decide carries from one decision to the next. The zero
// value is the state of an app that has never been evaluated. Decide never
// modifies a State it is given.
type State struct {
	// Desired is the replica count last decided.
	Desired int
	// Evaluated is true once Decide has run.
	Evaluated bool
	// recent holds the counts demand asked for during the last cooldown,
	// as a monotonic queue: times increasing, counts decreasing, so that
	// its head is the highest count of the period.
	recent []point
}

type point struct {
	at   time.Time
	want int
}

// remember returns recent with (now, want) added and points older than a
// cooldown before now dropped. It copies: the caller's slice is not changed.
func remember(recent []point, now time.Time, want int, cooldown time.Duration) []point {
	out := make([]point, 0, len(recent)+1)
	for _, p := range recent {
		if now.Sub(p.at) < cooldown && p.want > want {
			out = append(out, p)
		}
	}
	return append(out, point{now, want})
}

// Decision is the outcome of one evaluation.
type Decision struct {
	Desired int
	// Value is the observed metric (averaged over the window) in the
	// policy's unit; Target is what one replica should carry.
	Value, Target float64
	// Recommended is the count the metric alone asks for, before buffer,
	// bounds and cooldown.
	Recommended int
	// Reason explains the decision in one line.
	Reason string
	// Changed is true when Desired differs from the previous state's.
	Changed bool
}

// Decide returns the desired replica count for the samples in w at time
// now, given the previous state. It is pure: the same inputs give the same
// outputs, and it never reads the clock.
func Decide(now time.Time, prev State, w []Sample, p Policy) (Decision, State) {
	value := average(w, p)
	per := p.perReplica()
	rec := 0
	if value > 0 && per > 0 {
		rec = int(math.Ceil(value/per - 1e-9))
	}
	want := rec
	reason := fmt.Sprintf("%s %.2f %s against %.2f per replica → %d", p.Metric, value, p.Unit(), per, rec)

	// Requests waiting right now need replicas right now: with every
	// replica at its limit, as many replicas as in-flight plus waiting
	// requests fill, without waiting for the window's average.
	if len(w) > 0 && p.Concurrency > 0 {
		last := w[len(w)-1]
		if last.Queued > 0 {
			burst := (last.InFlight + last.Queued + p.Concurrency - 1) / p.Concurrency
			if burst > want {
				want = burst
				reason = fmt.Sprintf("%d requests waiting, %d in flight at %d per replica → %d", last.Queued, last.InFlight, p.Concurrency, burst)
			}
		}
	}
	if p.Buffer > 0 && (p.Metric == config.MetricConcurrency || p.Metric == config.MetricRPS || p.Metric == "") {
		want += p.Buffer
		reason += fmt.Sprintf(" + buffer %d", p.Buffer)
	}
	if want < p.Min {
		want = p.Min
		reason += fmt.Sprintf(", raised to min_replicas %d", p.Min)
	}
	if p.Max > 0 && want > p.Max {
		want = p.Max
		reason += fmt.Sprintf(", capped at max_replicas %d", p.Max)
	}

	// Scale up at once; scale down only as far as the highest count demand
	// asked for during the last cooldown, so that demand must stay reduced
	// for the whole cooldown and a new spike restarts the count.
	cur := prev.Desired
	recent := remember(prev.recent, now, want, p.Cooldown)
	next := State{Desired: want, Evaluated: true, recent: recent}
	if prev.Evaluated && want < cur {
		peak := recent[0].want
		if peak >= cur {
			next.Desired = cur
			reason += fmt.Sprintf("; holding %d: demand reached it %s ago (cooldown %s)", cur, now.Sub(recent[0].at).Round(time.Millisecond), p.Cooldown)
		} else {
			next.Desired = peak
			reason += fmt.Sprintf("; demand below %d for the cooldown (%s): down to %d", cur, p.Cooldown, peak)
		}
	}
	return Decision{
		Desired:     next.Desired,
		Value:       value,
		Target:      per,
		Recommended: rec,
		Reason:      reason,
		Changed:     !prev.Evaluated || next.Desired != prev.Desired,
	}, next
}

// average is the metric over the window, in the policy's unit.
func average(w []Sample, p Policy) float64 {
	if len(w) == 0 {
		return 0
	}
	if p.Metric == config.MetricRPS {
		if len(w) < 2 {
			return 0
		}
		first, last := w[0], w[len(w)-1]
		dt := last.At.Sub(first.At).Seconds()
		if dt <= 0 || last.Requests < first.Requests {
			return 0
		}
		return float64(last.Requests-first.Requests) / dt
	}
	var sum float64
	for _, s := range w {
		switch p.Metric {
		case config.MetricCPU:
			sum += s.CPUCores
		case config.MetricMemory:
			sum += s.MemoryGB
		default:
			sum += float64(s.InFlight + s.Queued)
		}
	}
	return sum / float64(len(w))
}
