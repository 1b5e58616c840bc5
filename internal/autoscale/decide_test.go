package autoscale

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ebb-run/ebb/config"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// sim drives Decide on a simulated clock: one sample a second, the window
// trimmed to the policy's evaluation interval.
type sim struct {
	t   *testing.T
	p   Policy
	now time.Time
	w   Window
	st  State
	d   Decision
}

func newSim(t *testing.T, p Policy) *sim {
	if p.Window == 0 {
		p.Window = 6 * time.Second
	}
	return &sim{t: t, p: p, now: t0}
}

// run feeds n one-second samples made by f and returns the last decision.
func (s *sim) run(n int, f func(i int) Sample) Decision {
	s.t.Helper()
	for i := 0; i < n; i++ {
		s.now = s.now.Add(time.Second)
		smp := f(i)
		smp.At = s.now
		s.w.Add(smp, s.p.Window)
		s.d, s.st = Decide(s.now, s.st, s.w.Samples(), s.p)
	}
	return s.d
}

func inflight(n int) func(int) Sample { return func(int) Sample { return Sample{InFlight: n} } }

func TestConcurrencyTarget(t *testing.T) {
	for _, tc := range []struct {
		name              string
		conc, target, inf int
		want              int
	}{
		{"conc1 target70: 0.7 per replica, 1 in flight → 2", 1, 70, 1, 2},
		{"conc1 target100: 1 per replica", 1, 100, 3, 3},
		{"conc10 target50: 5 per replica, 12 in flight → 3", 10, 50, 12, 3},
		{"conc100 target100: 100 per replica, 100 → 1", 100, 100, 100, 1},
		{"conc100 target100: 101 → 2", 100, 100, 101, 2},
		{"no load → 0", 4, 100, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, Policy{Metric: config.MetricConcurrency, Concurrency: tc.conc, Target: float64(tc.target), Max: 50})
			if d := s.run(10, inflight(tc.inf)); d.Desired != tc.want {
				t.Fatalf("desired = %d, want %d (%s)", d.Desired, tc.want, d.Reason)
			}
		})
	}
}

func TestWindowAveraging(t *testing.T) {
	// A one-second spike of 6 in a 6 s window of otherwise 0 averages to 1.
	s := newSim(t, Policy{Metric: config.MetricConcurrency, Concurrency: 1, Target: 100, Max: 10, Window: 6 * time.Second, Cooldown: time.Hour})
	d := s.run(6, func(i int) Sample {
		if i == 5 {
			return Sample{InFlight: 6}
		}
		return Sample{}
	})
	if d.Value != 1 || d.Desired != 1 {
		t.Fatalf("value %.2f desired %d, want 1 and 1 (%s)", d.Value, d.Desired, d.Reason)
	}
}

func TestRequestsPerSecond(t *testing.T) {
	s := newSim(t, Policy{Metric: config.MetricRPS, Target: 10, Concurrency: 100, Max: 20})
	total := uint64(0)
	d := s.run(10, func(int) Sample { total += 35; return Sample{Requests: total} })
	if d.Value != 35 || d.Desired != 4 {
		t.Fatalf("value %.2f desired %d, want 35 rps → 4 (%s)", d.Value, d.Desired, d.Reason)
	}
}

func TestCPUAndMemory(t *testing.T) {
	cpu := newSim(t, Policy{Metric: config.MetricCPU, Target: 50, CPUCores: 2, Min: 1, Max: 10})
	if d := cpu.run(5, func(int) Sample { return Sample{CPUCores: 3.5} }); d.Desired != 4 {
		t.Fatalf("cpu: desired %d, want 4 (3.5 cores at 1 core per replica) (%s)", d.Desired, d.Reason)
	}
	mem := newSim(t, Policy{Metric: config.MetricMemory, Target: 80, MemoryGB: 4, Min: 1, Max: 10})
	if d := mem.run(5, func(int) Sample { return Sample{MemoryGB: 6.5} }); d.Desired != 3 {
		t.Fatalf("memory: desired %d, want 3 (6.5 GB at 3.2 GB per replica) (%s)", d.Desired, d.Reason)
	}
}

func TestBufferMinMax(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		metric               string
		min, max, buffer, in int
		want                 int
	}{
		{"min 0 buffer 3 idle keeps a baseline of 3", config.MetricConcurrency, 0, 10, 3, 0, 3},
		{"buffer on top of the recommendation", config.MetricConcurrency, 0, 10, 2, 3, 5},
		{"buffer capped by max", config.MetricConcurrency, 0, 4, 3, 3, 4},
		{"min raises", config.MetricConcurrency, 2, 10, 0, 0, 2},
		{"max caps", config.MetricConcurrency, 0, 3, 0, 9, 3},
		{"buffer ignored for cpu", config.MetricCPU, 1, 10, 3, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, Policy{Metric: tc.metric, Concurrency: 1, Target: 100, CPUCores: 1, Min: tc.min, Max: tc.max, Buffer: tc.buffer})
			if d := s.run(8, inflight(tc.in)); d.Desired != tc.want {
				t.Fatalf("desired = %d, want %d (%s)", d.Desired, tc.want, d.Reason)
			}
		})
	}
}

func TestCooldown(t *testing.T) {
	p := Policy{Metric: config.MetricConcurrency, Concurrency: 1, Target: 100, Max: 10, Window: 2 * time.Second, Cooldown: 10 * time.Second}
	s := newSim(t, p)
	if d := s.run(5, inflight(4)); d.Desired != 4 {
		t.Fatalf("desired %d, want 4", d.Desired)
	}
	// Demand drops to 1 at t=6 s; the 2 s window averages it in over two
	// samples (3, then 2, then 1), and each step down waits until the
	// higher demand is a full cooldown old.
	got := map[int]int{}
	for sec := 6; sec <= 20; sec++ {
		got[sec] = s.run(1, inflight(1)).Desired
	}
	for sec, want := range map[int]int{6: 4, 14: 4, 15: 3, 16: 2, 17: 1, 20: 1} {
		if got[sec] != want {
			t.Errorf("t=%ds: desired %d, want %d", sec, got[sec], want)
		}
	}
}

func TestSpikeRestartsCooldown(t *testing.T) {
	p := Policy{Metric: config.MetricConcurrency, Concurrency: 1, Target: 100, Max: 10, Window: time.Second, Cooldown: 5 * time.Second}
	s := newSim(t, p)
	s.run(3, inflight(3))
	s.run(4, inflight(0)) // 4 s reduced
	if s.d.Desired != 3 {
		t.Fatalf("scaled down before cooldown: %d (%s)", s.d.Desired, s.d.Reason)
	}
	s.run(2, inflight(3)) // demand back at the count: restarts
	s.run(4, inflight(0))
	if s.d.Desired != 3 {
		t.Fatalf("spike did not restart the cooldown: %d (%s)", s.d.Desired, s.d.Reason)
	}
	s.run(2, inflight(0))
	if s.d.Desired != 0 {
		t.Fatalf("desired %d after a full cooldown idle, want 0 (%s)", s.d.Desired, s.d.Reason)
	}
}

func TestScaleDownOnlyToPeakOfCooldown(t *testing.T) {
	p := Policy{Metric: config.MetricConcurrency, Concurrency: 1, Target: 100, Max: 10, Window: time.Second, Cooldown: 4 * time.Second}
	s := newSim(t, p)
	s.run(2, inflight(5))
	s.run(2, inflight(3))
	s.run(3, inflight(1))
	if s.d.Desired != 3 {
		t.Fatalf("desired %d, want 3: the peak during the cooldown (%s)", s.d.Desired, s.d.Reason)
	}
}

func TestBurstScalesAtOnce(t *testing.T) {
	// concurrency 1, one replica busy, 3 waiting → 3 more on the very next
	// evaluation, though the long window averages far lower.
	p := Policy{Metric: config.MetricConcurrency, Concurrency: 1, Target: 100, Max: 10, Window: 30 * time.Second, Cooldown: 30 * time.Second}
	s := newSim(t, p)
	s.run(25, inflight(1))
	d := s.run(1, func(int) Sample { return Sample{InFlight: 1, Queued: 3} })
	if d.Desired != 4 || !strings.Contains(d.Reason, "3 requests waiting") {
		t.Fatalf("desired %d, want 4 (%s)", d.Desired, d.Reason)
	}
	// Repeated while they still wait: no overshoot.
	if d := s.run(1, func(int) Sample { return Sample{InFlight: 1, Queued: 3} }); d.Desired != 4 {
		t.Fatalf("desired %d on the second evaluation, want still 4", d.Desired)
	}
}

func TestScaleToZeroAndBack(t *testing.T) {
	p := Policy{Metric: config.MetricConcurrency, Concurrency: 1, Target: 100, Max: 3, Window: 2 * time.Second, Cooldown: 3 * time.Second}
	s := newSim(t, p)
	s.run(3, inflight(1))
	s.run(10, inflight(0))
	if s.d.Desired != 0 {
		t.Fatalf("idle app kept %d replicas (%s)", s.d.Desired, s.d.Reason)
	}
	// From zero, one waiting request brings one replica at once.
	if d := s.run(1, func(int) Sample { return Sample{Queued: 1} }); d.Desired != 1 || !d.Changed {
		t.Fatalf("cold request: desired %d changed %v, want 1 true (%s)", d.Desired, d.Changed, d.Reason)
	}
}

func TestDecideIsPure(t *testing.T) {
	p := Policy{Metric: config.MetricConcurrency, Concurrency: 2, Target: 70, Max: 9, Cooldown: time.Second}
	w := []Sample{{At: t0, InFlight: 3}, {At: t0.Add(time.Second), InFlight: 5, Queued: 2}}
	prev := State{Desired: 2, Evaluated: true}
	d1, s1 := Decide(t0.Add(2*time.Second), prev, w, p)
	d2, s2 := Decide(t0.Add(2*time.Second), prev, w, p)
	if d1 != d2 || !reflect.DeepEqual(s1, s2) || len(prev.recent) != 0 {
		t.Fatalf("same inputs, different outputs: %+v %+v / %+v %+v", d1, s1, d2, s2)
	}
}

func TestPolicyFromConfig(t *testing.T) {
	c := &config.Config{}
	c.Scaling = config.Scaling{MinReplicas: 1, MaxReplicas: 5, Cooldown: 30, ReplicaConcurrency: 4, ScalingMetric: config.MetricRPS,
		ScalingTarget: 20, ScalingBuffer: 1, EvaluationIntervalSeconds: 6}
	c.Hardware = config.Hardware{CPU: 2, Memory: 8}
	got := PolicyFrom(c)
	want := Policy{Metric: config.MetricRPS, Target: 20, Concurrency: 4, Min: 1, Max: 5, Buffer: 1, Window: 6 * time.Second,
		Cooldown: 30 * time.Second, CPUCores: 2, MemoryGB: 8}
	if got != want {
		t.Fatalf("PolicyFrom = %+v, want %+v", got, want)
	}
}
