package graceful

import (
	"container/list"
	"context"
	"sync"
)

// limiter counts the requests a Server holds and, with a cap, admits at most
// max of them at once, queueing up to queueSize more in FIFO order.
//
// The zero value is not usable; use newLimiter. A limiter must not be copied.
type limiter struct {
	max       int // 0 = no cap
	queueSize int

	mu        sync.Mutex
	active    int           // admitted, not yet released
	queue     list.List     // of *waiter, oldest first
	rejecting bool          // refuse new and queued requests with errDraining
	idle      chan struct{} // closed when active and queue are both empty; nil when nobody waits
}

// waiter is one queued request. ready receives nil when the request is
// admitted (the slot passes to it, active unchanged) or errDraining.
type waiter struct {
	ready chan error // buffered 1
	elem  *list.Element
}

func newLimiter(max, queueSize int) *limiter {
	return &limiter{max: max, queueSize: queueSize}
}

// acquire admits a request, waiting in the queue when the cap is reached.
// It returns nil when admitted (the caller must call release exactly once),
// errQueueFull, errDraining, or ctx's error when ctx ends while waiting.
func (l *limiter) acquire(ctx context.Context) error {
	l.mu.Lock()
	if l.rejecting {
		l.mu.Unlock()
		return errDraining
	}
	if l.max <= 0 || (l.active < l.max && l.queue.Len() == 0) {
		l.active++
		l.mu.Unlock()
		return nil
	}
	if l.queue.Len() >= l.queueSize {
		l.mu.Unlock()
		return errQueueFull
	}
	w := &waiter{ready: make(chan error, 1)}
	w.elem = l.queue.PushBack(w)
	l.mu.Unlock()

	select {
	case err := <-w.ready:
		return err
	case <-ctx.Done():
	}
	l.mu.Lock()
	if w.elem != nil { // still queued: leave the queue
		l.queue.Remove(w.elem)
		w.elem = nil
		l.signalIdleLocked()
		l.mu.Unlock()
		return ctx.Err()
	}
	l.mu.Unlock()
	// Admitted or refused concurrently with the cancellation.
	if err := <-w.ready; err == nil {
		l.release()
	}
	return ctx.Err()
}

// release frees the slot of an admitted request, handing it to the oldest
// waiter if there is one.
func (l *limiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if front := l.queue.Front(); front != nil {
		w := l.queue.Remove(front).(*waiter)
		w.elem = nil
		w.ready <- nil
		return
	}
	l.active--
	l.signalIdleLocked()
}

// reject makes acquire refuse every new request with errDraining and
// refuses every queued one: they were not processed, so a router may retry
// them elsewhere.
func (l *limiter) reject() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rejecting = true
	for e := l.queue.Front(); e != nil; e = l.queue.Front() {
		w := l.queue.Remove(e).(*waiter)
		w.elem = nil
		w.ready <- errDraining
	}
	l.signalIdleLocked()
}

// counts returns the number of admitted and of queued requests.
func (l *limiter) counts() (active, queued int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.active, l.queue.Len()
}

// idleChan returns a channel that is closed once no request is admitted or
// queued (at once if none is).
func (l *limiter) idleChan() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active == 0 && l.queue.Len() == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	if l.idle == nil {
		l.idle = make(chan struct{})
	}
	return l.idle
}

// signalIdleLocked closes the idle channel if the limiter is idle. Called
// with mu held.
func (l *limiter) signalIdleLocked() {
	if l.idle != nil && l.active == 0 && l.queue.Len() == 0 {
		close(l.idle)
		l.idle = nil
	}
}
