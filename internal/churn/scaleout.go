package churn

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/ebb-run/ebb/internal/platform"
)

// ScaleOut is how fast a burst got its first new replica.
type ScaleOut struct {
	// ToDesired is the time from the burst's first request to the
	// autoscaler raising the desired count.
	ToDesired time.Duration
	// ToStarted is the time to the first new replica appearing.
	ToStarted time.Duration
	// ToReady is the time to the first new replica being ready (routable).
	ToReady time.Duration
	// AppStart is the app's own start time in that replica: from the
	// replica appearing to its process binding its listener.
	AppStart time.Duration
	// Overhead is ToReady less AppStart: what the platform adds.
	Overhead time.Duration
}

// watchScaleOut polls the app every 2 ms from start until a replica that
// was not in before is ready, and times each step. It gives up after
// limit.
func watchScaleOut(ctx context.Context, c *http.Client, app *platform.App, before map[string]bool, desiredBefore int, start time.Time, limit time.Duration) (ScaleOut, error) {
	var so ScaleOut
	var started time.Time
	deadline := start.Add(limit)
	for {
		now := time.Now()
		st := app.Status()
		if so.ToDesired == 0 && st.Desired > desiredBefore {
			so.ToDesired = now.Sub(start)
			if sc := st.Scaling; sc != nil && sc.Changed.After(start) {
				so.ToDesired = sc.Changed.Sub(start)
			}
		}
		for _, v := range st.Revisions {
			for _, r := range v.Replicas {
				if before[r.ID] {
					continue
				}
				if started.IsZero() {
					started = now
					so.ToStarted = now.Sub(start)
				}
				if r.State != platform.Ready {
					continue
				}
				so.ToReady = now.Sub(start)
				listen, err := listeningAt(ctx, c, r.Port)
				if err != nil {
					return so, fmt.Errorf("scale-out: replica %s: %w", r.ID, err)
				}
				so.AppStart = listen.Sub(started)
				so.Overhead = so.ToReady - so.AppStart
				return so, nil
			}
		}
		if now.After(deadline) {
			return so, fmt.Errorf("scale-out: no new replica ready %s after the burst", limit)
		}
		select {
		case <-ctx.Done():
			return so, fmt.Errorf("scale-out: %w", ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}
