package churn

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/ebb-run/ebb/internal/platform"
)

// Cycle is one round of Cycles: a cold start, then a burst on the woken
// replica.
type Cycle struct {
	ColdStart ColdStart
	ScaleOut  ScaleOut
}

// Cycles repeats, n times: wait until the app is at zero replicas, wake it
// with one request (a cold start), then send burst concurrent /slow
// requests of burstSeconds and time the first new replica (a scale-out
// from one warm replica). Failed requests end it with an error.
func Cycles(ctx context.Context, app *platform.App, base string, n, burst int, burstSeconds float64, zeroLimit time.Duration, logf func(string, ...any)) ([]Cycle, error) {
	l := newLoad()
	defer l.client.CloseIdleConnections()
	var out []Cycle
	for i := range n {
		if err := waitZero(ctx, app, zeroLimit); err != nil {
			return out, err
		}
		var c Cycle
		var err error
		if c.ColdStart, err = coldStart(ctx, l.client, app, base); err != nil {
			return out, err
		}
		st := app.Status()
		before := map[string]bool{}
		for _, v := range st.Revisions {
			for _, r := range v.Replicas {
				before[r.ID] = true
			}
		}
		at := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			l.once(burst, func(c *http.Client) error { return Slow(c, base, burstSeconds) })
		}()
		c.ScaleOut, err = watchScaleOut(ctx, l.client, app, before, st.Desired, at, 30*time.Second)
		<-done
		if err != nil {
			return out, err
		}
		if f := l.failed.Load(); f > 0 {
			return out, fmt.Errorf("cycles: %d of %d burst requests failed: %v", f, l.sent.Load(), l.failures)
		}
		if logf != nil {
			logf("cycle %d/%d: cold start %s (%s after listen: probe %s, handoff %s); burst → ready %s (app start %s, overhead %s)", i+1, n,
				ms(c.ColdStart.Total), ms(c.ColdStart.Overhead), ms(c.ColdStart.Detect), ms(c.ColdStart.Handoff), ms(c.ScaleOut.ToReady), ms(c.ScaleOut.AppStart), ms(c.ScaleOut.Overhead))
		}
		out = append(out, c)
	}
	return out, nil
}
