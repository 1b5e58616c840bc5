package platform

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebb-run/ebb/config"
	"github.com/prometheus/client_golang/prometheus"
)

// App is one app served by the platform: its revisions, its replicas, its
// request queue and the desired replica count that the reconciler keeps.
type App struct {
	name string
	p    *Platform

	// grace is the current revision's response_grace_period, the request
	// timeout (nanoseconds, read on the hot path).
	grace   atomic.Int64
	noAuth  atomic.Bool
	pol     atomic.Pointer[policyBox]
	routes  atomic.Pointer[routeTable]
	queue   waitQueue
	logs    *logRing
	queuedC chan struct{} // buffered 1; see QueuedSignal

	requests  atomic.Uint64 // every request routed to the app
	codes     codeCounts
	queueHist prometheus.Histogram

	wake chan struct{} // buffered 1: the reconciler has work

	mu        sync.Mutex
	revisions []*Revision    // live revisions, oldest first; guarded by mu
	current   *Revision      // the revision the reconciler scales; guarded by mu
	nextRev   int            // guarded by mu
	nextID    int            // guarded by mu
	min, max  int            // guarded by mu
	desired   int            // guarded by mu
	manual    bool           // desired follows min (no autoscaler); guarded by mu
	byHand    bool           // min/max set by SetBounds, kept across deploys; guarded by mu
	failing   string         // guarded by mu
	lastEvent string         // guarded by mu
	scaling   *ScalingStatus // the autoscaler's last decision; guarded by mu
	deploying bool           // guarded by mu
	stopping  bool           // guarded by mu
	// ctx bounds the replica goroutines (set by Platform.Run before
	// anything can start a replica).
	ctx context.Context
	wg  sync.WaitGroup // replica goroutines
}

type policyBox struct{ policy }

// routeTable is an immutable snapshot of where an app's traffic goes: one
// group per revision receiving traffic, with its weight in percent.
type routeTable struct {
	groups []routeGroup
}

type routeGroup struct {
	weight int
	reps   []*Replica
}

func newApp(p *Platform, cfg *config.Config) (*App, error) {
	pol, err := newPolicy(cfg.Scaling.EffectiveLoadBalancing())
	if err != nil {
		return nil, fmt.Errorf("app %s: %w", cfg.Deployment.Name, err)
	}
	a := &App{
		name:    cfg.Deployment.Name,
		p:       p,
		logs:    newLogRing(2000),
		queuedC: make(chan struct{}, 1),
		wake:    make(chan struct{}, 1),
		manual:  true,
		queueHist: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ebb_queue_seconds", Help: "Time requests waited in the app's queue for a free replica.",
			ConstLabels: prometheus.Labels{"app": cfg.Deployment.Name},
			Buckets:     []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10, 30},
		}),
	}
	a.pol.Store(&policyBox{pol})
	a.routes.Store(&routeTable{})
	a.applyConfigLocked(cfg)
	a.min, a.max = cfg.Scaling.MinReplicas, cfg.Scaling.MaxReplicas
	a.desired = a.min
	a.nextRev = 1
	a.current = &Revision{N: 1, cfg: *cfg, created: p.now(), weight: 100}
	a.revisions = []*Revision{a.current}
	return a, nil
}

// applyConfigLocked sets the hot-path settings of the serving config.
func (a *App) applyConfigLocked(cfg *config.Config) {
	a.grace.Store(int64(cfg.Scaling.GracePeriod()))
	a.noAuth.Store(cfg.Deployment.DisableAuth)
	if pol, err := newPolicy(cfg.Scaling.EffectiveLoadBalancing()); err == nil {
		a.pol.Store(&policyBox{pol})
	}
	a.queue.mu.Lock()
	a.queue.max = queueSize(cfg)
	a.queue.mu.Unlock()
}

// queueSize bounds an app's queue: ten requests per slot of its largest
// size, at least 100.
func queueSize(cfg *config.Config) int {
	return max(100, 10*max(cfg.Scaling.MaxReplicas, 1)*max(cfg.Scaling.ReplicaConcurrency, 1))
}

// Name is the app's name (deployment.name).
func (a *App) Name() string { return a.name }

// pick reserves a slot on a routable replica, choosing the revision by
// weight and the replica by the app's load-balancing policy.
func (a *App) pick() (*Replica, *incarnation) {
	t := a.routes.Load()
	pol := a.pol.Load().policy
	switch len(t.groups) {
	case 0:
		return nil, nil
	case 1:
		return pol.pick(t.groups[0].reps)
	}
	first := 0
	x := rand.IntN(100)
	for i, g := range t.groups {
		if x < g.weight {
			first = i
			break
		}
		x -= g.weight
	}
	if rep, inc := pol.pick(t.groups[first].reps); rep != nil {
		return rep, inc
	}
	for i, g := range t.groups {
		if i == first {
			continue
		}
		if rep, inc := pol.pick(g.reps); rep != nil {
			return rep, inc
		}
	}
	return nil, nil
}

// routesChanged rebuilds the route table after a replica entered or left
// routing or a revision's weight changed, and lets queued requests go.
func (a *App) routesChanged() {
	a.mu.Lock()
	a.rebuildRoutesLocked()
	a.mu.Unlock()
	a.dispatch()
}

func (a *App) rebuildRoutesLocked() {
	t := &routeTable{}
	total := 0
	for _, v := range a.revisions {
		if v.weight > 0 {
			total += v.weight
		}
	}
	for _, v := range a.revisions {
		var reps []*Replica
		for _, r := range v.replicas {
			if r.routable.Load() {
				reps = append(reps, r)
			}
		}
		if len(reps) == 0 {
			continue
		}
		w := v.weight
		if total == 0 {
			w = 100
		}
		t.groups = append(t.groups, routeGroup{weight: w, reps: reps})
	}
	// Weights of revisions without routable replicas go to the others.
	sum := 0
	for _, g := range t.groups {
		sum += g.weight
	}
	if sum > 0 && sum != 100 {
		acc := 0
		for i := range t.groups {
			t.groups[i].weight = t.groups[i].weight * 100 / sum
			acc += t.groups[i].weight
		}
		t.groups[len(t.groups)-1].weight += 100 - acc
	}
	a.routes.Store(t)
}

// slotFreed is called after every release.
func (a *App) slotFreed() { a.dispatch() }

func (a *App) signalQueued() {
	select {
	case a.queuedC <- struct{}{}:
	default:
	}
}

// QueuedSignal receives a value (coalesced) whenever a request has to wait
// in the queue because no replica had a free slot. An autoscaler selects on
// it to scale out at once instead of waiting for its evaluation window.
func (a *App) QueuedSignal() <-chan struct{} { return a.queuedC }

// SetDesired sets the number of replicas the app should run, clamped to
// [min_replicas, max_replicas]. Calling it hands the count to the caller
// (an autoscaler): from then on `ebb scale` only changes the bounds.
func (a *App) SetDesired(n int) {
	a.mu.Lock()
	a.manual = false
	a.desired = max(a.min, min(n, a.max))
	a.mu.Unlock()
	a.kick()
}

// SetBounds sets min_replicas and max_replicas. Without an autoscaler the
// desired count follows min.
func (a *App) SetBounds(minN, maxN int) error {
	if minN < 0 || maxN < minN || maxN < 1 {
		return fmt.Errorf("scale %s: want 0 <= min <= max and max >= 1, got min %d max %d", a.name, minN, maxN)
	}
	a.mu.Lock()
	a.min, a.max, a.byHand = minN, maxN, true
	if a.manual {
		a.desired = minN
	} else {
		a.desired = max(minN, min(a.desired, maxN))
	}
	a.lastEvent = fmt.Sprintf("scaled to min %d max %d", minN, maxN)
	a.mu.Unlock()
	a.logf("scale: min %d, max %d", minN, maxN)
	a.kick()
	return nil
}

// kick wakes the reconciler.
func (a *App) kick() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// run is the app's reconciler: it keeps the current revision at the desired
// number of replicas until ctx ends, then drains every replica.
func (a *App) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		a.reconcile()
		select {
		case <-ctx.Done():
			a.shutdown()
			return
		case <-a.wake:
		case <-t.C:
		}
	}
}

// reconcile starts or stops replicas of the current revision to match the
// desired count.
func (a *App) reconcile() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping {
		return
	}
	v := a.current
	var live []*Replica
	for _, r := range v.replicas {
		if !r.isLeaving() && !r.migrating && r.State() != Stopped {
			live = append(live, r)
		}
	}
	for n := len(live); n < a.desired; n++ {
		a.startReplicaLocked(v)
	}
	if extra := len(live) - a.desired; extra > 0 {
		// Stop replicas that are not ready first, then the least busy.
		slices.SortStableFunc(live, func(x, y *Replica) int {
			rx, ry := x.State() == Ready, y.State() == Ready
			if rx != ry {
				if rx {
					return 1
				}
				return -1
			}
			return x.InFlight() - y.InFlight()
		})
		for _, r := range live[:extra] {
			r.stop("scale down")
			a.reapLater(v, r)
		}
	}
}

// startReplicaLocked adds a replica to revision v and starts it.
func (a *App) startReplicaLocked(v *Revision) *Replica {
	a.nextID++
	r := newReplica(a, v, "r"+strconv.Itoa(a.nextID), a.p.now())
	v.replicas = append(v.replicas, r)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		r.run(a.ctx)
	}()
	return r
}

// reapLater removes r from v once it has stopped.
func (a *App) reapLater(v *Revision, r *Replica) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		<-r.done
		a.mu.Lock()
		v.replicas = slices.DeleteFunc(v.replicas, func(x *Replica) bool { return x == r })
		a.rebuildRoutesLocked()
		a.mu.Unlock()
	}()
}

// shutdown drains every replica of every revision, in parallel, and
// fails whatever is still queued.
func (a *App) shutdown() {
	a.mu.Lock()
	a.stopping = true
	var all []*Replica
	for _, v := range a.revisions {
		all = append(all, v.replicas...)
	}
	a.mu.Unlock()
	for _, r := range all {
		r.stop("shutdown")
	}
	// No replica will take a new request: answer what waits now, not at
	// the end of the drain.
	a.closeQueue()
	for _, r := range all {
		<-r.done
	}
	a.wg.Wait()
}

func (a *App) setFailing(msg string) {
	a.mu.Lock()
	changed := a.failing == ""
	a.failing = msg
	a.mu.Unlock()
	if changed {
		a.logf("FAILING: %s", msg)
	}
}

func (a *App) clearFailing() {
	a.mu.Lock()
	a.failing = ""
	a.mu.Unlock()
}

// logf writes a platform message about the app to the platform's output
// and to the app's log ring.
func (a *App) logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	a.logs.add(LogLine{Time: a.p.now(), Replica: "ebb", Stream: "ebb", Text: msg})
	a.p.eventf("%s: %s", a.name, msg)
}

// findReplica returns the replica with id in any live revision.
func (a *App) findReplicaLocked(id string) (*Revision, *Replica) {
	for _, v := range a.revisions {
		for _, r := range v.replicas {
			if r.ID == id || a.name+"/"+r.ID == id {
				return v, r
			}
		}
	}
	return nil, nil
}
