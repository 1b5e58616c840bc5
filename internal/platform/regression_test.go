package platform_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ebb-run/ebb/graceful"
)

// A migration whose replacement is stopped before it becomes ready (here
// by a scale-down, which stops replicas that are not ready first) fails at
// once, instead of waiting out deployment_initialization_timeout.
func TestMigrationEndsWhenItsReplacementIsStopped(t *testing.T) {
	cfg := helloConfig("mig")
	cfg.Scaling.MinReplicas = 2
	cfg.Deployment.DeploymentInitializationTimeout = 60
	r := startPlatform(t, []string{"HELLO_STARTUP_DELAY=1.5s"}, cfg)
	a := r.p.App("mig")
	victim := r.replicas("mig")[0].ID
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := a.Migrate(context.Background(), victim)
		done <- err
	}()
	waitFor(t, "the replacement to start", 5*time.Second, func() bool { return len(r.replicas("mig")) == 3 })
	if err := a.SetBounds(1, 5); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "stopped before it became ready") {
			t.Fatalf("Migrate: %v, want the replacement reported stopped", err)
		}
		t.Logf("Migrate returned after %s: %v", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(20 * time.Second):
		t.Fatal("Migrate still waiting 20 s after its replacement was stopped")
	}
}

// At shutdown, a request still waiting in the queue is answered at once
// with a 503 that says it was not processed, while the one in flight
// finishes.
func TestShutdownAnswersQueuedRequestsAtOnce(t *testing.T) {
	cfg := helloConfig("q")
	cfg.Scaling.MinReplicas, cfg.Scaling.MaxReplicas, cfg.Scaling.ReplicaConcurrency = 1, 1, 1
	r := startPlatform(t, nil, cfg)
	client := &http.Client{Timeout: 20 * time.Second}
	slow := make(chan error, 1)
	go func() { slow <- doSlow(client, r.url("q", ""), 2) }()
	waitFor(t, "the slow request in flight", 5*time.Second, func() bool { return r.app(t, "q").InFlight == 1 })
	type answer struct {
		code  int
		drain string
		at    time.Time
	}
	queued := make(chan answer, 1)
	go func() {
		resp, err := client.Post(r.url("q", "/hello"), "application/json", strings.NewReader("{}"))
		if err != nil {
			queued <- answer{code: -1, at: time.Now()}
			return
		}
		resp.Body.Close()
		queued <- answer{resp.StatusCode, resp.Header.Get(graceful.DrainHeader), time.Now()}
	}()
	waitFor(t, "a request in the queue", 5*time.Second, func() bool { return r.app(t, "q").Queued == 1 })
	stopAt := time.Now()
	r.cancel()
	q := <-queued
	if q.code != http.StatusServiceUnavailable || q.drain != "1" {
		t.Errorf("queued request at shutdown: %d, drain marker %q; want 503 with the marker", q.code, q.drain)
	}
	if d := q.at.Sub(stopAt); d > time.Second {
		t.Errorf("queued request answered %s after shutdown began; want at once, not after the drain", d)
	}
	if err := <-slow; err != nil {
		t.Errorf("request in flight at shutdown: %v", err)
	}
}
