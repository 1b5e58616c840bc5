package platform

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ebb-run/ebb/config"
)

// rolloutSteps is the number of traffic steps of a gradual rollout: 20%
// each.
const rolloutSteps = 5

// ErrRolledBack wraps the reason a new revision was rolled back.
var ErrRolledBack = errors.New("rolled back")

// Deploy starts a new revision of the app from cfg, waits for its replicas
// to become ready, moves traffic to it (at once when
// roll_out_duration_seconds is 0, else in 5 steps of 20% spread over that
// duration: 20% at once, 100% when it has passed) and drains the old
// revisions through the termination sequence.
// A revision whose replicas do not become ready within
// deployment_initialization_timeout, or crash first, is stopped and the
// error (wrapping ErrRolledBack) says why. Deploy returns when the rollout
// is complete.
func (a *App) Deploy(ctx context.Context, cfg *config.Config) (*Revision, error) {
	if cfg.Deployment.Name != a.name {
		return nil, fmt.Errorf("deploy %s: config is for app %q", a.name, cfg.Deployment.Name)
	}
	if _, err := newPolicy(cfg.Scaling.EffectiveLoadBalancing()); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", a.name, err)
	}
	a.mu.Lock()
	if a.deploying {
		a.mu.Unlock()
		return nil, fmt.Errorf("deploy %s: a rollout is already in progress", a.name)
	}
	if a.stopping {
		a.mu.Unlock()
		return nil, fmt.Errorf("deploy %s: %w", a.name, errAppStopping)
	}
	a.deploying = true
	a.nextRev++
	v := &Revision{N: a.nextRev, cfg: *cfg, created: a.p.now()}
	if !a.byHand {
		a.min, a.max = cfg.Scaling.MinReplicas, cfg.Scaling.MaxReplicas
	}
	if a.manual {
		a.desired = a.min
	} else {
		a.desired = max(a.min, min(a.desired, a.max))
	}
	n := max(a.desired, 1)
	a.revisions = append(a.revisions, v)
	var fresh []*Replica
	for range n {
		fresh = append(fresh, a.startReplicaLocked(v))
	}
	a.lastEvent = fmt.Sprintf("deploying revision %d", v.N)
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.deploying = false
		a.mu.Unlock()
	}()
	a.logf("revision %d: starting %d replica(s) from %s", v.N, n, cfg.Dir)

	if err := a.waitAllReady(ctx, fresh, cfg.Deployment.InitTimeout()); err != nil {
		a.rollback(v, err)
		return nil, fmt.Errorf("deploy %s revision %d: %w: %w", a.name, v.N, ErrRolledBack, err)
	}
	a.shift(ctx, v, cfg)
	a.drainOld(v, fmt.Sprintf("rollout to revision %d", v.N))
	a.mu.Lock()
	a.lastEvent = fmt.Sprintf("revision %d rolled out", v.N)
	a.mu.Unlock()
	a.logf("revision %d: rolled out", v.N)
	return v, nil
}

// waitAllReady waits until every replica in reps has been ready once. It
// fails when one fails before that, or after timeout.
func (a *App) waitAllReady(ctx context.Context, reps []*Replica, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	t := time.NewTimer(timeout + time.Second)
	defer t.Stop()
	for _, r := range reps {
		select {
		case <-r.firstReady:
		case <-r.failed:
			return r.failErr
		case <-r.done:
			// Stopped (by a scale-down, a rollout or shutdown) before its
			// first ready, unless it became ready just before.
			select {
			case <-r.firstReady:
			default:
				return fmt.Errorf("%s was stopped before it became ready", r.ID)
			}
		case <-t.C:
			return fmt.Errorf("%s not ready after deployment_initialization_timeout %s", r.ID, timeout)
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", r.ID, ctx.Err())
		}
	}
	return nil
}

// rollback stops a revision that never became ready.
func (a *App) rollback(v *Revision, why error) {
	a.mu.Lock()
	reps := append([]*Replica(nil), v.replicas...)
	a.lastEvent = fmt.Sprintf("revision %d rolled back: %v", v.N, why)
	for _, r := range reps {
		r.stop(fmt.Sprintf("rollback of revision %d", v.N))
	}
	a.mu.Unlock()
	a.logf("revision %d: rolled back: %v", v.N, why)
	for _, r := range reps {
		<-r.done
	}
	a.mu.Lock()
	a.removeRevisionLocked(v)
	a.mu.Unlock()
	a.clearFailing()
}

// shift moves the traffic to v, at once or in steps, and makes v the
// revision the reconciler scales.
func (a *App) shift(ctx context.Context, v *Revision, cfg *config.Config) {
	d := cfg.Scaling.RollOutDuration()
	steps := rolloutSteps
	if d <= 0 {
		steps = 1
	}
	for i := 1; i <= steps; i++ {
		w := 100 * i / steps
		a.mu.Lock()
		if i == 1 {
			a.current = v
			a.applyConfigLocked(cfg)
		}
		v.weight = w
		for _, o := range a.revisions {
			if o != v {
				o.weight = 0
			}
		}
		if w < 100 {
			// The old revisions share what v does not get.
			old := a.revisions[len(a.revisions)-2]
			old.weight = 100 - w
		}
		a.rebuildRoutesLocked()
		a.mu.Unlock()
		a.dispatch()
		a.kick()
		a.logf("revision %d: %d%% of traffic", v.N, w)
		if i < steps {
			// 20% at once, 100% when the duration has passed.
			t := time.NewTimer(d / (rolloutSteps - 1))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
	}
}

// drainOld stops every replica of every revision but keep, in parallel,
// through the termination sequence, and forgets those revisions.
func (a *App) drainOld(keep *Revision, reason string) {
	a.mu.Lock()
	var old []*Revision
	var reps []*Replica
	for _, o := range a.revisions {
		if o != keep {
			old = append(old, o)
			reps = append(reps, o.replicas...)
		}
	}
	// Stop them before unlocking: Migrate checks isLeaving under a.mu, so
	// it cannot start a replacement in a revision that is going away.
	for _, r := range reps {
		r.stop(reason)
	}
	a.mu.Unlock()
	for _, r := range reps {
		<-r.done
	}
	a.mu.Lock()
	for _, o := range old {
		a.removeRevisionLocked(o)
	}
	a.mu.Unlock()
}

func (a *App) removeRevisionLocked(v *Revision) {
	for i, o := range a.revisions {
		if o == v {
			a.revisions = append(a.revisions[:i:i], a.revisions[i+1:]...)
			break
		}
	}
	a.rebuildRoutesLocked()
}
