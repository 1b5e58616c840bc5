package graceful

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
)

// acquireAsync starts acquire in a goroutine and returns its result channel.
func acquireAsync(ctx context.Context, l *limiter) <-chan error {
	c := make(chan error, 1)
	go func() { c <- l.acquire(ctx) }()
	return c
}

func TestLimiterFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(2, 3)
		ctx := context.Background()
		for range 2 {
			if err := l.acquire(ctx); err != nil {
				t.Fatalf("acquire under the cap: %v", err)
			}
		}
		var waits []<-chan error
		for range 3 {
			waits = append(waits, acquireAsync(ctx, l))
			synctest.Wait() // queue in a known order
		}
		if err := l.acquire(ctx); !errors.Is(err, errQueueFull) {
			t.Fatalf("acquire with a full queue = %v, want errQueueFull", err)
		}
		if a, q := l.counts(); a != 2 || q != 3 {
			t.Fatalf("counts = %d active, %d queued; want 2, 3", a, q)
		}
		for i := range waits {
			l.release()
			synctest.Wait()
			for j, w := range waits {
				select {
				case err := <-w:
					if j != i || err != nil {
						t.Fatalf("after release %d, waiter %d got %v; want waiter %d admitted", i, j, err, i)
					}
				default:
				}
			}
		}
		if a, q := l.counts(); a != 2 || q != 0 {
			t.Fatalf("counts = %d active, %d queued; want 2, 0", a, q)
		}
	})
}

func TestLimiterNoQueue(t *testing.T) {
	l := newLimiter(1, 0)
	if err := l.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.acquire(context.Background()); !errors.Is(err, errQueueFull) {
		t.Fatalf("second acquire = %v, want errQueueFull", err)
	}
}

func TestLimiterUnlimitedCounts(t *testing.T) {
	l := newLimiter(0, 0)
	for range 100 {
		if err := l.acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if a, _ := l.counts(); a != 100 {
		t.Fatalf("active = %d, want 100", a)
	}
}

func TestLimiterCancelWhileQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(1, 2)
		if err := l.acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		gone := acquireAsync(ctx, l)
		synctest.Wait()
		stays := acquireAsync(context.Background(), l)
		synctest.Wait()
		cancel()
		if err := <-gone; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled waiter got %v, want context.Canceled", err)
		}
		if _, q := l.counts(); q != 1 {
			t.Fatalf("queued = %d after a waiter left, want 1", q)
		}
		l.release()
		if err := <-stays; err != nil {
			t.Fatalf("remaining waiter got %v, want admitted", err)
		}
		l.release()
		if a, q := l.counts(); a != 0 || q != 0 {
			t.Fatalf("counts = %d, %d; want 0, 0", a, q)
		}
	})
}

func TestLimiterRejectRefusesQueuedAndNew(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(1, 5)
		if err := l.acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
		w1 := acquireAsync(context.Background(), l)
		w2 := acquireAsync(context.Background(), l)
		synctest.Wait()
		idle := l.idleChan()
		l.reject()
		for _, w := range []<-chan error{w1, w2} {
			if err := <-w; !errors.Is(err, errDraining) {
				t.Fatalf("queued request got %v, want errDraining", err)
			}
		}
		if err := l.acquire(context.Background()); !errors.Is(err, errDraining) {
			t.Fatalf("new request got %v, want errDraining", err)
		}
		select {
		case <-idle:
			t.Fatal("idle while a request is still admitted")
		default:
		}
		l.release()
		select {
		case <-idle:
		default:
			t.Fatal("not idle after the last release")
		}
		select {
		case <-l.idleChan():
		default:
			t.Fatal("idleChan of an idle limiter is not closed")
		}
	})
}
