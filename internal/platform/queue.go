package platform

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrQueueFull is returned when a request finds every replica busy and the
// app's queue full; the router answers 503 with Retry-After.
var ErrQueueFull = errors.New("platform: request queue full")

// errAppStopping is returned to queued requests when the app shuts down.
var errAppStopping = errors.New("platform: app shutting down")

// grant is a reserved slot handed to a queued request.
type grant struct {
	rep *Replica
	inc *incarnation
}

type waiter struct {
	ch     chan grant // receives exactly one grant; buffered
	queued time.Time
}

// waitQueue is an app's FIFO of requests waiting for a free replica slot.
// The zero value is an unbounded queue; set max.
type waitQueue struct {
	max int
	// n counts waiters, including one that is about to enqueue (it is
	// raised before the last pick so that a concurrent release cannot miss
	// it).
	n       atomic.Int32
	mu      sync.Mutex
	waiters list.List // of *waiter; guarded by mu
	closed  bool      // guarded by mu
}

// acquire reserves a slot on one of a's routable replicas, waiting in the
// queue when none is free.
func (a *App) acquire(ctx context.Context) (*Replica, *incarnation, time.Duration, error) {
	if a.queue.n.Load() == 0 {
		if rep, inc := a.pick(); rep != nil {
			return rep, inc, 0, nil
		}
	}
	return a.acquireSlow(ctx)
}

func (a *App) acquireSlow(ctx context.Context) (*Replica, *incarnation, time.Duration, error) {
	q := &a.queue
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil, nil, 0, errAppStopping
	}
	q.n.Add(1)
	if q.waiters.Len() == 0 {
		if rep, inc := a.pick(); rep != nil {
			q.n.Add(-1)
			q.mu.Unlock()
			return rep, inc, 0, nil
		}
	}
	if q.waiters.Len() >= q.max {
		q.n.Add(-1)
		q.mu.Unlock()
		return nil, nil, 0, ErrQueueFull
	}
	start := time.Now()
	w := &waiter{ch: make(chan grant, 1), queued: start}
	e := q.waiters.PushBack(w)
	q.mu.Unlock()
	a.signalQueued()

	select {
	case g := <-w.ch:
		if g.rep == nil {
			return nil, nil, time.Since(start), errAppStopping
		}
		return g.rep, g.inc, time.Since(start), nil
	case <-ctx.Done():
	}
	q.mu.Lock()
	select {
	case g := <-w.ch:
		q.mu.Unlock()
		if g.rep != nil {
			g.rep.dispatched()
			g.rep.release()
		}
	default:
		q.waiters.Remove(e)
		q.n.Add(-1)
		q.mu.Unlock()
	}
	return nil, nil, time.Since(start), ctx.Err()
}

// dispatch hands free slots to queued requests, oldest first.
func (a *App) dispatch() {
	q := &a.queue
	if q.n.Load() == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for e := q.waiters.Front(); e != nil; e = q.waiters.Front() {
		rep, inc := a.pick()
		if rep == nil {
			return
		}
		q.waiters.Remove(e)
		q.n.Add(-1)
		e.Value.(*waiter).ch <- grant{rep: rep, inc: inc}
	}
}

// closeQueue fails every queued request and refuses new ones.
func (a *App) closeQueue() {
	q := &a.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	for e := q.waiters.Front(); e != nil; e = q.waiters.Front() {
		q.waiters.Remove(e)
		q.n.Add(-1)
		e.Value.(*waiter).ch <- grant{}
	}
}

// Queued is the number of requests waiting for a replica.
func (a *App) Queued() int {
	q := &a.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiters.Len()
}
