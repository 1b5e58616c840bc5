package platform_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ebb-run/ebb/config"
	"github.com/ebb-run/ebb/internal/platform"
)

// TestAutoscaleFromZeroBurstAndBack runs the hello app with min_replicas 0
// under the autoscaler: a request to the idle app starts a replica and is
// served; a burst of long requests scales out at once; idle again, the app
// returns to zero through the termination sequence. No request fails.
func TestAutoscaleFromZeroBurstAndBack(t *testing.T) {
	cfg := helloConfig("auto")
	cfg.Scaling = config.Scaling{
		MinReplicas: 0, MaxReplicas: 4, ReplicaConcurrency: 1, ResponseGracePeriod: 5,
		ScalingMetric: config.MetricConcurrency, ScalingTarget: 100,
		EvaluationIntervalSeconds: 1, Cooldown: 1,
	}
	r := launchWith(t, func(o *platform.Options) { o.Autoscaler = platform.Autoscale }, nil, cfg)
	select {
	case <-r.p.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("platform with min_replicas 0 not ready")
	}
	a := r.p.App("auto")
	if n := len(r.replicas("auto")); n != 0 {
		t.Fatalf("idle app with min_replicas 0 runs %d replicas", n)
	}

	// Cold start: the first request waits in the queue while a replica
	// starts, and is served.
	client := &http.Client{Timeout: 20 * time.Second}
	start := time.Now()
	if err := doHello(client, r.url("auto", "")); err != nil {
		t.Fatalf("cold request: %v", err)
	}
	t.Logf("cold request served in %s", time.Since(start).Round(time.Millisecond))
	if st := a.Status(); st.Scaling == nil || st.Scaling.Metric != config.MetricConcurrency {
		t.Fatalf("status has no autoscaling view: %+v", st.Scaling)
	}

	// Burst: 4 concurrent 2 s requests at concurrency 1 need 4 replicas;
	// they are asked for at once, not after the window.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	burst := time.Now()
	for range 4 {
		wg.Go(func() { errs <- doSlow(client, r.url("auto", ""), 2) })
	}
	waitFor(t, "4 desired replicas after the burst", 3*time.Second, func() bool { return a.Status().Desired == 4 })
	t.Logf("desired 4 replicas %s after the burst", time.Since(burst).Round(time.Millisecond))
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("burst request: %v", err)
		}
	}
	// Served side by side, not one after another (which takes 8 s).
	if d := time.Since(burst); d > 7*time.Second {
		t.Errorf("burst of 4 × 2 s took %s", d)
	}

	// Idle: back to zero after the window and the cooldown.
	waitFor(t, "scale to zero", 20*time.Second, func() bool {
		st := a.Status()
		return st.Desired == 0 && len(r.replicas("auto")) == 0
	})
	st := a.Status()
	if st.Scaling == nil || st.Scaling.Desired != 0 || st.Scaling.Reason == "" {
		t.Fatalf("last decision: %+v", st.Scaling)
	}

	// And back from zero once more.
	if err := doHello(client, r.url("auto", "")); err != nil {
		t.Fatalf("request after scale to zero: %v", err)
	}
}
