package platform

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ebb-run/ebb/internal/probe"
)

// crashLoopThreshold consecutive crashes without staying up mark the app as
// failing.
const crashLoopThreshold = 3

// run keeps the replica's process running until stop is called or ctx (the
// platform's hard-stop context) ends. It owns every process of the replica.
func (r *Replica) run(ctx context.Context) {
	defer close(r.done)
	defer r.setState(Stopped)
	a := r.app
	crashes := 0
	for {
		r.setState(Starting)
		inc, err := r.startIncarnation(ctx)
		if err != nil {
			crashes++
			r.recordFailure(fmt.Errorf("start: %w", err), crashes)
			if !r.sleep(ctx, a.p.backoff.delay(crashes)) {
				return
			}
			continue
		}
		startedAt := a.p.now()
		err = r.becomeReady(ctx, inc, startedAt)
		switch {
		case errors.Is(err, errStopped) || ctx.Err() != nil:
			r.terminate(inc, r.stopReason)
			return
		case err != nil:
			// Exited or never became ready in time.
			if !errors.Is(err, errExited) {
				r.terminate(inc, err.Error())
			} else {
				_ = inc.inst.Kill()
			}
			if errors.Is(err, errExited) {
				err = fmt.Errorf("exited before becoming ready (%s)", exitText(inc.inst.ExitErr()))
			}
			crashes++
			r.recordFailure(err, crashes)
			if !r.sleep(ctx, a.p.backoff.delay(crashes)) {
				return
			}
			continue
		}
		why := r.serve(ctx, inc)
		switch {
		case errors.Is(why, errStopped) || ctx.Err() != nil:
			r.terminate(inc, r.stopReason)
			return
		case errors.Is(why, errExited):
			r.closeGate()
			r.setState(Starting)
			_ = inc.inst.Kill()
			a.p.forget(inc.addr)
			if a.p.now().Sub(startedAt) >= a.p.backoff.Reset {
				crashes = 0
			}
			crashes++
			r.recordFailure(fmt.Errorf("exited unexpectedly (%v)", exitText(inc.inst.ExitErr())), crashes)
			if !r.sleep(ctx, a.p.backoff.delay(crashes)) {
				return
			}
		default: // failed its health check: replace it
			r.terminate(inc, why.Error())
			r.restarts.Add(1)
		}
	}
}

// startIncarnation starts a new process for the replica.
func (r *Replica) startIncarnation(ctx context.Context) (*incarnation, error) {
	a := r.app
	cfg := r.rev.cfg
	spec := ReplicaSpec{
		App:         a.name,
		ID:          r.ID,
		Dir:         cfg.Dir,
		Argv:        cfg.Runtime.Custom.Entrypoint,
		Port:        cfg.Runtime.Custom.Port,
		GracePeriod: cfg.Scaling.GracePeriod(),
		Env: []string{
			"EBB_GRACE_PERIOD=" + strconv.Itoa(cfg.Scaling.ResponseGracePeriod),
			"EBB_REPLICA_ID=" + r.ID,
			"EBB_APP=" + a.name,
			"EBB_REVISION=" + strconv.Itoa(r.rev.N),
			APIKeyEnv + "=", // the platform's key is not the app's business
		},
		Output: func(stream, line string) {
			a.logs.add(LogLine{Time: a.p.now(), Replica: r.ID, Stream: stream, Text: line})
			a.p.replicaOutput(a.name, r.ID, line)
		},
	}
	if len(spec.Argv) == 0 {
		return nil, fmt.Errorf("app %s: no entrypoint (set [cerebrium.runtime.custom] entrypoint)", a.name)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	inst, err := a.p.driver.Start(sctx, spec)
	cancel()
	if err != nil {
		return nil, err
	}
	ictx, icancel := context.WithCancel(context.Background())
	inc := &incarnation{inst: inst, addr: inst.Addr(), ctx: ictx, cancel: icancel}
	r.cur.Store(inc)
	a.logf("%s: started pid %d on %s (revision %d)", r.ID, inst.PID(), inc.addr, r.rev.N)
	return inc, nil
}

// becomeReady waits for the readiness check, bounded by
// deployment_initialization_timeout, and then opens the gate.
func (r *Replica) becomeReady(ctx context.Context, inc *incarnation, startedAt time.Time) error {
	a := r.app
	cfg := r.rev.cfg
	timeout := cfg.Deployment.InitTimeout()
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pr := newProber(inc.addr, cfg.Runtime.Custom.ReadycheckEndpoint)
	defer pr.Close()
	err := waitReady(rctx, pr, inc.inst, r.stopCh)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return fmt.Errorf("not ready after deployment_initialization_timeout %s", timeout)
		}
		return err
	}
	now := a.p.now()
	r.mu.Lock()
	r.readyAt = now
	r.coldStart = now.Sub(startedAt)
	r.mu.Unlock()
	a.p.metrics.coldStart(a.name, now.Sub(startedAt))
	r.setState(Ready)
	r.openGate()
	a.logf("%s: ready in %s", r.ID, now.Sub(startedAt).Round(time.Millisecond))
	r.readyOnce.Do(func() { close(r.firstReady) })
	a.clearFailing()
	return nil
}

// serve watches a ready replica: it leaves routing while its readiness
// check fails and comes back when it passes; it returns errStopped on stop,
// errExited when the process exits, or the health failure that makes it be
// replaced.
func (r *Replica) serve(ctx context.Context, inc *incarnation) error {
	cfg := r.rev.cfg
	ready := newProber(inc.addr, cfg.Runtime.Custom.ReadycheckEndpoint)
	defer ready.Close()
	var health *probe.Prober
	if p := cfg.Runtime.Custom.HealthcheckEndpoint; p != "" {
		health = newProber(inc.addr, p)
		defer health.Close()
	}
	readyT := time.NewTicker(readyEvery)
	defer readyT.Stop()
	healthT := time.NewTicker(r.app.p.opts.HealthInterval)
	defer healthT.Stop()
	healthFails := 0
	for {
		select {
		case <-ctx.Done():
			return errStopped
		case <-r.stopCh:
			return errStopped
		case <-inc.inst.Done():
			return errExited
		case <-readyT.C:
			if exited(inc.inst) {
				return errExited // never probe a dead process's port
			}
			err := ready.Check(ctx)
			switch {
			case exited(inc.inst):
				return errExited // it died during the check: a crash, whatever the check said
			case err != nil && r.routable.Load() && !r.isLeaving():
				r.app.logf("%s: readiness check failed, out of routing: %v", r.ID, err)
				r.closeGate()
			case err == nil && !r.routable.Load():
				r.openGate()
			}
		case <-healthT.C:
			if health == nil {
				continue
			}
			if exited(inc.inst) {
				return errExited
			}
			err := health.Check(ctx)
			if exited(inc.inst) {
				return errExited
			}
			if err == nil {
				healthFails = 0
				continue
			}
			healthFails++
			if healthFails >= healthFailures {
				return fmt.Errorf("health check failed %d times: %w", healthFails, err)
			}
		}
	}
}

// exited reports whether inst's process has exited (and been reaped).
// serve's select picks at random among ready cases, so a tick can come
// before the exit, and a process can die during a check.
func exited(inst Instance) bool {
	select {
	case <-inst.Done():
		return true
	default:
		return false
	}
}

// suspend takes the replica out of routing after the proxy could not reach
// it; the readiness check puts it back.
func (r *Replica) suspend(why error) {
	if r.routable.Load() {
		r.routable.Store(false)
		r.app.routesChanged()
		r.app.logf("%s: out of routing: %v", r.ID, why)
	}
}

// recordFailure notes a crash or failed start, with the last lines of the
// replica's output; too many in a row mark the app as failing.
func (r *Replica) recordFailure(err error, crashes int) {
	a := r.app
	r.restarts.Add(1)
	tail := a.logs.tail(10, r.ID)
	msg := fmt.Sprintf("%s: %v", r.ID, err)
	r.mu.Lock()
	r.lastErr = msg
	r.mu.Unlock()
	r.fail(errors.New(msg + lastLines(tail)))
	a.logf("%s (crash %d, restarting in %s)", msg, crashes, a.p.backoff.delay(crashes))
	if crashes >= crashLoopThreshold {
		a.setFailing(fmt.Sprintf("%s, %d times in a row", msg, crashes) + lastLines(tail))
	}
}

func lastLines(tail []LogLine) string {
	if len(tail) == 0 {
		return ""
	}
	return "; last output:\n" + formatTail(tail)
}

// sleep waits d unless the replica is stopped or ctx ends first.
func (r *Replica) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.stopCh:
		return false
	case <-ctx.Done():
		return false
	}
}
