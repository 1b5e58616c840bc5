// Package limiter is the per-replica concurrency limiter: a breaker that
// admits at most capacity requests at once and parks the excess, first in
// first out, in a bounded queue.
//
// The uncontended path (a free slot and nobody waiting) is a single atomic
// compare-and-swap on acquire and on release; the mutex is taken only when a
// request has to queue or a release has to hand its slot to a waiter.
package limiter

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// ErrQueueFull is returned by Reserve and Acquire when every slot is taken
// and the queue holds queueSize waiters already. Servers map it to 503 with
// Retry-After and the graceful.DrainHeader marker: the request was not
// processed and may be retried elsewhere.
var ErrQueueFull = errors.New("limiter: queue full")

// Limiter admits at most Capacity concurrent holders. A Limiter must be
// created with New and must not be copied.
type Limiter struct {
	capacity  uint32
	queueSize uint32

	// state packs the number of holders (low 32 bits) and the number of
	// queued waiters (high 32 bits) into one word, so that "is there a free
	// slot and nobody queued?" is a single atomic read. The waiter count only
	// changes with mu held; the holder count changes lock-free on the fast
	// paths and with mu held on the slow ones.
	state atomic.Uint64

	mu      sync.Mutex
	waiters list.List // of *waiter, oldest first; guarded by mu
}

// waiter is one request parked in the queue. A waiter blocked in Acquire
// has ready, which receives exactly one value when a releasing holder hands
// its slot over; a waiter queued by Enqueue has granted, called instead.
type waiter struct {
	ready   chan struct{}
	granted func()
	handed  bool // the slot was handed over; guarded by mu
}

const holderMask = 1<<32 - 1

func holders(s uint64) uint32 { return uint32(s & holderMask) }
func queued(s uint64) uint32  { return uint32(s >> 32) }

// New returns a limiter admitting capacity concurrent holders, with room for
// queueSize waiters behind them (0 means no queue: a request that finds every
// slot taken fails at once with ErrQueueFull). New panics when capacity < 1
// or queueSize < 0, which are programming errors.
func New(capacity, queueSize int) *Limiter {
	if capacity < 1 || capacity > holderMask {
		panic(fmt.Sprintf("limiter.New: capacity %d out of range [1, %d]", capacity, holderMask))
	}
	if queueSize < 0 || queueSize > holderMask {
		panic(fmt.Sprintf("limiter.New: queue size %d out of range [0, %d]", queueSize, holderMask))
	}
	return &Limiter{capacity: uint32(capacity), queueSize: uint32(queueSize)}
}

// Capacity is the number of concurrent holders the limiter admits.
func (l *Limiter) Capacity() int { return int(l.capacity) }

// QueueSize is the number of waiters the queue holds at most.
func (l *Limiter) QueueSize() int { return int(l.queueSize) }

// InFlight is the number of current holders.
func (l *Limiter) InFlight() int { return int(holders(l.state.Load())) }

// Queued is the number of requests waiting for a slot.
func (l *Limiter) Queued() int { return int(queued(l.state.Load())) }

// Free is the number of slots a TryAcquire could take right now: zero while
// anybody is queued, so that queued requests keep their turn.
func (l *Limiter) Free() int {
	s := l.state.Load()
	if queued(s) > 0 || holders(s) >= l.capacity {
		return 0
	}
	return int(l.capacity - holders(s))
}

// Reserve takes a slot, waiting in the FIFO queue when none is free. It
// returns ErrQueueFull when the queue is full, or the context's error when ctx
// ends before a slot is handed over. On success release must be called once
// the work is done; calling it more than once is harmless.
func (l *Limiter) Reserve(ctx context.Context) (release func(), err error) {
	if err := l.Acquire(ctx); err != nil {
		return nil, err
	}
	return l.releaseOnce(), nil
}

// TryReserve takes a slot only if one is free and nobody is queued; it never
// waits. release is idempotent, as with Reserve.
func (l *Limiter) TryReserve() (release func(), ok bool) {
	if !l.TryAcquire() {
		return nil, false
	}
	return l.releaseOnce(), true
}

func (l *Limiter) releaseOnce() func() {
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			l.Release()
		}
	}
}

// TryAcquire is the allocation-free form of TryReserve: on true the caller
// holds a slot and must call Release exactly once.
func (l *Limiter) TryAcquire() bool {
	for {
		s := l.state.Load()
		if queued(s) > 0 || holders(s) >= l.capacity {
			return false
		}
		if l.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// Acquire is the allocation-free form of Reserve for hot paths: on nil the
// caller holds a slot and must call Release exactly once (Release is not
// idempotent; use Reserve when that is hard to guarantee).
func (l *Limiter) Acquire(ctx context.Context) error {
	if l.TryAcquire() {
		return nil
	}
	return l.acquireSlow(ctx)
}

func (l *Limiter) acquireSlow(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	if acquired, err := l.joinLocked(); acquired || err != nil {
		l.mu.Unlock()
		return err
	}
	w := &waiter{ready: make(chan struct{}, 1)}
	elem := l.waiters.PushBack(w)
	l.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	if l.cancel(elem) {
		// The slot was handed over while we gave up: pass it on.
		l.Release()
	}
	return ctx.Err()
}

// Release gives back a slot taken by Acquire or TryAcquire, handing it
// straight to the oldest waiter when there is one.
func (l *Limiter) Release() {
	for {
		s := l.state.Load()
		if holders(s) == 0 {
			panic("limiter: Release without a matching Acquire")
		}
		if queued(s) > 0 {
			break
		}
		if l.state.CompareAndSwap(s, s-1) {
			return
		}
	}
	l.mu.Lock()
	if front := l.waiters.Front(); front != nil {
		l.waiters.Remove(front)
		l.state.Add(^uint64(1<<32 - 1)) // queued--, the slot changes hands
		w := front.Value.(*waiter)
		w.handed = true
		if w.granted == nil {
			w.ready <- struct{}{}
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		w.granted()
		return
	}
	// The waiters we saw gave up before we got the lock.
	l.state.Add(^uint64(0)) // holders--
	l.mu.Unlock()
}

// joinLocked takes a slot that came free since the fast path looked
// (acquired), or counts the caller as queued, or fails with ErrQueueFull.
// The caller holds mu and, when queued, pushes its waiter.
func (l *Limiter) joinLocked() (acquired bool, err error) {
	for {
		s := l.state.Load()
		if queued(s) == 0 && holders(s) < l.capacity {
			if l.state.CompareAndSwap(s, s+1) {
				return true, nil
			}
			continue
		}
		if queued(s) >= l.queueSize {
			return false, ErrQueueFull
		}
		// Counting ourselves as queued in the same word as the holders
		// makes every later release take the slow path and find us.
		if l.state.CompareAndSwap(s, s+1<<32) {
			return false, nil
		}
	}
}

// Ticket is a place in the queue taken by Enqueue.
type Ticket struct{ elem *list.Element }

// Enqueue is Acquire for callers that must not block, such as an event
// loop. It takes a free slot at once when it can (acquired is true and the
// ticket nil); otherwise it queues the caller, first in first out with the
// blocking waiters, and granted is called once the slot is handed over, on
// the goroutine of the Release that hands it, with no lock held. granted
// must not block. The caller then holds the slot. It fails with
// ErrQueueFull when the queue is full.
func (l *Limiter) Enqueue(granted func()) (t *Ticket, acquired bool, err error) {
	if l.TryAcquire() {
		return nil, true, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if acquired, err := l.joinLocked(); acquired || err != nil {
		return nil, acquired, err
	}
	w := &waiter{granted: granted}
	return &Ticket{elem: l.waiters.PushBack(w)}, false, nil
}

// Cancel withdraws a ticket from the queue. It reports whether the slot had
// already been handed over (granted was or is being called): the caller
// then holds the slot and must Release it.
func (l *Limiter) Cancel(t *Ticket) (handed bool) { return l.cancel(t.elem) }

// cancel takes a waiter out of the queue unless its slot was handed over
// already, which it reports.
func (l *Limiter) cancel(elem *list.Element) (handed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if elem.Value.(*waiter).handed {
		return true
	}
	l.waiters.Remove(elem)
	l.state.Add(^uint64(1<<32 - 1)) // queued--
	return false
}
