// Package churn runs an app through the life the autoscaler has to handle —
// idle at zero replicas, a burst of long requests, steady mixed load with a
// rollout and a migration, idle again down to zero, and a cold start — and
// measures it: requests sent and failed, replicas over time, the scale-out
// reaction and the cold-start overhead. The app is examples/hello, whose
// GET /stats tells when it bound its listener.
package churn

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ebb-run/ebb/config"
	"github.com/ebb-run/ebb/internal/platform"
)

// Options shape a churn run.
type Options struct {
	// Idle is how long the app sits at zero before the burst, and again
	// once it is back at zero before the cold start.
	Idle time.Duration
	// Burst is how many /slow requests of BurstSeconds arrive at once.
	Burst        int
	BurstSeconds float64
	// Steady is the load during the steady phase, which lasts Steady
	// before the rollout and as long again after the migration.
	Load   Mix
	Steady time.Duration
	// Next is the config the rollout deploys.
	Next *config.Config
	// ZeroLimit bounds the wait for the idle app to reach zero replicas.
	ZeroLimit time.Duration
	// SampleEvery is the replica count's sampling period (100 ms if 0).
	SampleEvery time.Duration
	// Logf, when not nil, receives progress.
	Logf func(format string, args ...any)
}

// Phase is a named span of a run, as offsets from its start.
type Phase struct {
	Name       string
	Start, End time.Duration
}

// Result is what a churn run measured.
type Result struct {
	// Sent and Failed count every request of the run: burst, load and
	// cold start.
	Sent, Failed int64
	// Failures are the first failed requests, with their time and error.
	Failures []string
	Samples  []Sample
	Phases   []Phase
	ScaleOut ScaleOut
	// ColdStart is the request that woke the app at the end.
	ColdStart ColdStart
	// Revision is the revision the rollout created; Migrated the replica
	// the migration moved, and its replacement.
	Revision           int
	Migrated, Replaced string
}

// Run runs the scenario against app, which the router serves at base
// (its URL without a trailing slash) and which must have min_replicas 0, an
// autoscaler, and no replica yet. It returns an error when a step could
// not happen; failed requests are counted in the result, not returned.
func Run(ctx context.Context, app *platform.App, base string, o Options) (*Result, error) {
	if o.SampleEvery == 0 {
		o.SampleEvery = 100 * time.Millisecond
	}
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	res := &Result{}
	start := time.Now()
	smp := startSampler(app, start, o.SampleEvery)
	defer func() {
		if res.Samples == nil {
			smp.stop()
		}
	}()
	l := newLoad()
	defer l.stop()
	phase := func(name string) func() {
		p := Phase{Name: name, Start: time.Since(start)}
		logf("churn: %s", name)
		return func() {
			p.End = time.Since(start)
			res.Phases = append(res.Phases, p)
		}
	}
	finish := func(err error) (*Result, error) {
		res.Samples = smp.stop()
		l.stop()
		res.Sent, res.Failed = l.sent.Load(), l.failed.Load()
		l.mu.Lock()
		res.Failures = append([]string(nil), l.failures...)
		l.mu.Unlock()
		return res, err
	}

	end := phase("idle")
	st := app.Status()
	before := map[string]bool{}
	for _, v := range st.Revisions {
		for _, r := range v.Replicas {
			before[r.ID] = true
		}
	}
	if len(before) != 0 {
		return finish(fmt.Errorf("churn: the app runs %d replicas before the burst, want 0", len(before)))
	}
	if err := sleep(ctx, o.Idle); err != nil {
		return finish(err)
	}
	end()

	end = phase("burst")
	burstAt := time.Now()
	burstDone := make(chan struct{})
	go func() {
		defer close(burstDone)
		l.once(o.Burst, func(c *http.Client) error { return Slow(c, base, o.BurstSeconds) })
	}()
	so, err := watchScaleOut(ctx, l.client, app, before, st.Desired, burstAt, 30*time.Second)
	res.ScaleOut = so
	<-burstDone
	end()
	if err != nil {
		return finish(err)
	}
	logf("churn: burst → desired %s, → first replica started %s, → ready %s (app start %s, overhead %s)",
		so.ToDesired, so.ToStarted, so.ToReady, so.AppStart, so.Overhead)

	end = phase("steady")
	l.start(base, o.Load)
	if err := sleep(ctx, o.Steady); err != nil {
		return finish(err)
	}
	endRollout := phase("rollout")
	rev, err := app.Deploy(ctx, o.Next)
	endRollout()
	if err != nil {
		return finish(fmt.Errorf("churn: rollout: %w", err))
	}
	res.Revision = rev.N
	endMigration := phase("migration")
	res.Migrated = firstReady(app)
	if res.Migrated == "" {
		endMigration()
		return finish(fmt.Errorf("churn: migration: no ready replica to migrate"))
	}
	res.Replaced, err = app.Migrate(ctx, res.Migrated)
	endMigration()
	if err != nil {
		return finish(fmt.Errorf("churn: migration: %w", err))
	}
	if err := sleep(ctx, o.Steady); err != nil {
		return finish(err)
	}
	l.stop()
	end()

	end = phase("idle")
	err = waitZero(ctx, app, o.ZeroLimit)
	if err == nil {
		err = sleep(ctx, o.Idle) // at zero for a while before the next request
	}
	end()
	if err != nil {
		return finish(fmt.Errorf("churn: %w", err))
	}

	end = phase("cold start")
	cs, err := coldStart(ctx, l.client, app, base)
	l.record(err)
	if err != nil {
		end()
		return finish(err)
	}
	res.ColdStart = cs
	logf("churn: cold start: first byte %s after the request, %s after the app listened", cs.Total, cs.Overhead)
	err = sleep(ctx, time.Second)
	end()
	return finish(err)
}

// Summary is a one-paragraph account of a run.
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "requests: %d sent, %d failed\n", r.Sent, r.Failed)
	fmt.Fprintf(&b, "scale-out: burst → desired %s, → replica started %s, → ready %s; app start %s; platform overhead %s\n",
		ms(r.ScaleOut.ToDesired), ms(r.ScaleOut.ToStarted), ms(r.ScaleOut.ToReady), ms(r.ScaleOut.AppStart), ms(r.ScaleOut.Overhead))
	fmt.Fprintf(&b, "cold start: first byte %s after the request; %s after the app listened\n", ms(r.ColdStart.Total), ms(r.ColdStart.Overhead))
	fmt.Fprintf(&b, "rollout to revision %d; migrated %s → %s; peak replicas %d\n", r.Revision, r.Migrated, r.Replaced, r.Peak())
	return b.String()
}

// Peak is the largest total replica count sampled.
func (r *Result) Peak() int {
	n := 0
	for _, s := range r.Samples {
		n = max(n, s.Total)
	}
	return n
}

func firstReady(app *platform.App) string {
	for _, v := range app.Status().Revisions {
		for _, r := range v.Replicas {
			if r.State == platform.Ready {
				return r.ID
			}
		}
	}
	return ""
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("churn: %w", ctx.Err())
	case <-time.After(d):
		return nil
	}
}

// ms formats d in milliseconds with one decimal.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
