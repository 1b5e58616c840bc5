package platform

import (
	"testing"

	"github.com/ebb-run/ebb/config"
	"github.com/google/go-cmp/cmp"
)

// inFlight lists the replicas' in-flight counts.
func inFlight(a *App) []int {
	var out []int
	for _, r := range a.replicasForTest() {
		out = append(out, r.InFlight())
	}
	return out
}

func TestPolicies(t *testing.T) {
	tests := []struct {
		lb    string
		picks int
		want  []int
	}{
		// first-available fills the first replica before the next.
		{config.LBFirstAvailable, 5, []int{3, 2, 0}},
		// round-robin spreads.
		{config.LBRoundRobin, 6, []int{2, 2, 2}},
		// min-connections spreads as the counts rise.
		{config.LBMinConnections, 6, []int{2, 2, 2}},
		// every policy stops at the capacity of all replicas.
		{config.LBFirstAvailable, 12, []int{3, 3, 3}},
		{config.LBRoundRobin, 12, []int{3, 3, 3}},
		{config.LBMinConnections, 12, []int{3, 3, 3}},
		{config.LBRandomChoice2, 12, []int{3, 3, 3}},
	}
	for _, tt := range tests {
		a := testApp(t, 3, 3, tt.lb, "127.0.0.1:1")
		got := 0
		for range tt.picks {
			if rep, _ := a.pick(); rep != nil {
				got++
			}
		}
		if want := min(tt.picks, 9); got != want {
			t.Errorf("%s: %d of %d picks succeeded, want %d", tt.lb, got, tt.picks, want)
		}
		if diff := cmp.Diff(tt.want, inFlight(a)); diff != "" {
			t.Errorf("%s after %d picks: in flight (-want +got):\n%s", tt.lb, tt.picks, diff)
		}
	}
}

func TestRandomChoice2PrefersTheLessLoaded(t *testing.T) {
	a := testApp(t, 2, 100, config.LBRandomChoice2, "127.0.0.1:1")
	reps := a.replicasForTest()
	for range 50 {
		reps[0].reserve()
	}
	for range 20 {
		a.pick()
	}
	if diff := cmp.Diff([]int{50, 20}, inFlight(a)); diff != "" {
		t.Errorf("in flight (-want +got):\n%s", diff)
	}
}

func TestUnknownPolicy(t *testing.T) {
	if _, err := newPolicy("fastest"); err == nil {
		t.Error("newPolicy(fastest) succeeded")
	}
}

func TestAutoPolicy(t *testing.T) {
	for c, want := range map[int]string{1: config.LBFirstAvailable, 3: config.LBFirstAvailable, 4: config.LBRoundRobin} {
		if got := (config.Scaling{ReplicaConcurrency: c}).EffectiveLoadBalancing(); got != want {
			t.Errorf("replica_concurrency %d: %s, want %s", c, got, want)
		}
	}
}
