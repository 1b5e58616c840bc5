package platform_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ebb-run/ebb/config"
	"github.com/ebb-run/ebb/internal/churn"
	"github.com/ebb-run/ebb/internal/platform"
)

// churnConfig is the hello app scaled from zero by concurrency, with
// windows far shorter than the validator allows so that the churn test
// stays short.
func churnConfig(name string) *config.Config {
	cfg := helloConfig(name)
	cfg.Scaling = config.Scaling{
		MinReplicas: 0, MaxReplicas: 6, ReplicaConcurrency: 2, ResponseGracePeriod: 4,
		ScalingMetric: config.MetricConcurrency, ScalingTarget: 70,
		EvaluationIntervalSeconds: 1, Cooldown: 1, RollOutDurationSeconds: 2,
	}
	return cfg
}

// TestChurnDropsNothing runs the hello app with min_replicas 0 under the
// autoscaler through idle → a burst of long requests → steady mixed load
// during which a rollout and a migration happen → idle down to zero → a
// cold start, sampling the replica count every 100 ms. No request may
// fail; scale-out reaction and cold-start overhead are logged (their
// targets are checked by `make churn`, not here).
func TestChurnDropsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("churn runs for about a minute")
	}
	cfg := churnConfig("churn")
	r := launchWith(t, func(o *platform.Options) { o.Autoscaler = platform.Autoscale }, nil, cfg)
	select {
	case <-r.p.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("platform with min_replicas 0 not ready")
	}
	app := r.p.App("churn")
	next := churnConfig("churn")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := churn.Run(ctx, app, r.url("churn", ""), churn.Options{
		Idle: time.Second, Burst: 6, BurstSeconds: 3,
		Load:   churn.Mix{Hello: 2, Slow: 2, Stream: 2, Long: 1.5},
		Steady: 3 * time.Second, Next: next, ZeroLimit: 30 * time.Second,
		Logf: t.Logf,
	})
	if res != nil {
		t.Logf("churn:\n%s", res.Summary())
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed > 0 {
		t.Errorf("%d of %d requests failed; first failures:\n%s", res.Failed, res.Sent, strings.Join(res.Failures, "\n"))
	}
	if res.Sent < 20 {
		t.Errorf("only %d requests sent: the load did not run", res.Sent)
	}
	// The burst of 6 × 3 s at concurrency 2 needs 3 replicas at least.
	if p := res.Peak(); p < 3 {
		t.Errorf("peak of %d replicas, want at least 3 for the burst", p)
	}
	if res.Revision != 2 || res.Replaced == "" {
		t.Errorf("rollout to revision %d, migration %s → %q: want revision 2 and a replacement", res.Revision, res.Migrated, res.Replaced)
	}
	// The sampler ran through the whole run, and saw zero twice: before
	// the burst and before the cold start.
	zeros, last := 0, -1
	for _, s := range res.Samples {
		if s.Total == 0 && last != 0 {
			zeros++
		}
		last = s.Total
	}
	if zeros < 2 {
		t.Errorf("replica count reached zero %d times, want 2 (idle, then scaled in)", zeros)
	}
	if n, want := len(res.Samples), int(res.Phases[len(res.Phases)-1].End/(100*time.Millisecond))/2; n < want {
		t.Errorf("%d samples, want at least %d at 100 ms", n, want)
	}
	if res.ScaleOut.ToReady <= 0 || res.ColdStart.Overhead <= 0 {
		t.Errorf("scale-out %+v, cold start %+v: not measured", res.ScaleOut, res.ColdStart)
	}
}
