package platform

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebb-run/ebb/internal/limiter"
)

// Replica is one replica of one revision of an app: a slot that the
// platform keeps filled with a process, restarting it when it crashes, until
// the replica is stopped through the termination sequence.
//
// Routing goes through a gate: reserve admits a request only while the
// replica is routable and has a free concurrency slot, and closeGate returns
// only once no request is between "picked this replica" and "counted in
// flight". After closeGate no new request can reach the replica: the
// in-flight count can only go down.
type Replica struct {
	// ID names the replica within its app ("r3").
	ID  string
	app *App
	rev *Revision
	lim *limiter.Limiter

	// routable and entering form the gate; see reserve and closeGate.
	routable atomic.Bool
	entering atomic.Int32
	// unsent counts reserved requests the router has not yet handed to
	// the proxy; see dispatched and terminate.
	unsent atomic.Int32

	state atomic.Int32 // a State
	cur   atomic.Pointer[incarnation]

	served   atomic.Uint64 // responses written by this replica
	restarts atomic.Int32

	created time.Time

	mu      sync.Mutex
	leaving bool // stop requested (scale-down, migration, rollout, shutdown); guarded by mu
	// migrating: a replacement is starting; the replica no longer counts
	// towards the desired replicas. Guarded by the app's mu.
	migrating bool
	readyAt   time.Time // last time it became ready; guarded by mu
	coldStart time.Duration
	lastErr   string // last crash or failure; guarded by mu

	stopOnce   sync.Once
	stopCh     chan struct{} // closed by stop
	stopReason string        // written before stopCh is closed
	done       chan struct{} // closed when run returns
	firstReady chan struct{} // closed the first time the replica is ready
	readyOnce  sync.Once
	failed     chan struct{} // closed when the replica fails before its first ready
	failOnce   sync.Once
	failErr    error // written before failed is closed
}

// incarnation is one process of a replica: a crash or a health replacement
// starts a new one.
type incarnation struct {
	inst Instance
	addr string
	// ctx is cancelled when the process is killed or exits; requests sent
	// to it are cancelled with it, so that the proxy answers 504 for the
	// requests a SIGKILLed replica still held.
	ctx    context.Context
	cancel context.CancelFunc
}

func newReplica(a *App, rev *Revision, id string, now time.Time) *Replica {
	return &Replica{
		ID:         id,
		app:        a,
		rev:        rev,
		lim:        limiter.New(max(rev.cfg.Scaling.ReplicaConcurrency, 1), 0),
		created:    now,
		stopCh:     make(chan struct{}),
		done:       make(chan struct{}),
		firstReady: make(chan struct{}),
		failed:     make(chan struct{}),
	}
}

// State is the replica's current state.
func (r *Replica) State() State { return State(r.state.Load()) }

// InFlight is the number of requests the replica holds.
func (r *Replica) InFlight() int { return r.lim.InFlight() }

// Capacity is replica_concurrency.
func (r *Replica) Capacity() int { return r.lim.Capacity() }

// Routable reports whether new requests may be sent to the replica.
func (r *Replica) Routable() bool { return r.routable.Load() }

// reserve takes one of the replica's concurrency slots if it is routable,
// and returns the process to send the request to. On success the caller
// must call release once the response is done. It never blocks.
func (r *Replica) reserve() *incarnation {
	// The first load keeps requests that arrive after closeGate's Store
	// from touching entering, so closeGate waits only for the few that
	// passed it before; the second one is the check that counts.
	if !r.routable.Load() {
		return nil
	}
	r.entering.Add(1)
	if !r.routable.Load() || !r.lim.TryAcquire() {
		r.entering.Add(-1)
		return nil
	}
	inc := r.cur.Load()
	r.unsent.Add(1)
	r.entering.Add(-1)
	return inc
}

// dispatched records that a request reserved on r is being sent to it (or
// given up); the termination sequence waits for every reserved request to
// get there before it sends SIGTERM.
func (r *Replica) dispatched() { r.unsent.Add(-1) }

// release gives back a slot taken by reserve and lets a queued request of
// the app have it.
func (r *Replica) release() {
	r.lim.Release()
	r.app.slotFreed()
}

// closeGate takes the replica out of routing and returns once the router
// confirms that nothing new can reach it. A reserve that loaded routable
// before the Store below still holds entering; one that starts after it
// sees routable false. Both operations are sequentially consistent atomics,
// so once entering reads zero after the Store, every later reserve fails and
// every earlier one is counted in lim: the in-flight count is final and only
// decreases.
func (r *Replica) closeGate() {
	r.routable.Store(false)
	// A request between the two loads in reserve takes nanoseconds: spin
	// briefly, then sleep (a sleeping goroutine is rescheduled promptly,
	// unlike one that yields to busy ones).
	for i := 0; r.entering.Load() != 0; i++ {
		if i < 100 {
			runtime.Gosched()
		} else {
			time.Sleep(10 * time.Microsecond)
		}
	}
	r.app.routesChanged()
}

// openGate puts the replica (back) into routing unless it is leaving.
func (r *Replica) openGate() {
	r.mu.Lock()
	leaving := r.leaving
	r.mu.Unlock()
	if leaving || r.State() != Ready {
		return
	}
	r.routable.Store(true)
	r.app.routesChanged()
}

// stop asks the replica to go through the termination sequence and not
// restart. It returns at once; wait on r.done for the end.
func (r *Replica) stop(reason string) {
	r.mu.Lock()
	r.leaving = true
	r.mu.Unlock()
	r.stopOnce.Do(func() {
		r.stopReason = reason
		close(r.stopCh)
	})
}

// isLeaving reports whether a stop was requested.
func (r *Replica) isLeaving() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leaving
}

func (r *Replica) setState(s State) {
	old := State(r.state.Swap(int32(s)))
	if old != s {
		r.app.p.metrics.stateChange(r.app.name, s)
	}
}

func (r *Replica) fail(err error) {
	r.failOnce.Do(func() {
		r.failErr = err
		close(r.failed)
	})
}

// pid is the process id (and process group id) of the replica's current
// process, or 0 when it has none or it has stopped (as in its status).
func (r *Replica) pid() int {
	if inc := r.cur.Load(); inc != nil && inc.inst != nil && r.State() != Stopped {
		return inc.inst.PID()
	}
	return 0
}
