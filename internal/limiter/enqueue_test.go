package limiter

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestEnqueueSharesTheFIFO queues callback waiters between blocking ones and
// checks that released slots are handed over in arrival order.
func TestEnqueueSharesTheFIFO(t *testing.T) {
	l := New(1, 10)
	if _, ok, err := l.Enqueue(func() { t.Error("granted called for an immediate slot") }); !ok || err != nil {
		t.Fatalf("Enqueue on a free limiter: acquired %v, err %v; want true, nil", ok, err)
	}
	order := make(chan string, 4)
	ctx := context.Background()

	blockingDone := make(chan struct{})
	go func() {
		defer close(blockingDone)
		if err := l.Acquire(ctx); err != nil {
			t.Errorf("Acquire: %v", err)
			return
		}
		order <- "blocking"
		l.Release()
	}()
	for l.Queued() != 1 {
		time.Sleep(time.Millisecond)
	}
	tk, ok, err := l.Enqueue(func() { order <- "callback"; l.Release() })
	if ok || err != nil || tk == nil {
		t.Fatalf("Enqueue behind a holder: ticket %v, acquired %v, err %v; want a ticket", tk, ok, err)
	}
	if l.Queued() != 2 {
		t.Fatalf("Queued = %d, want 2", l.Queued())
	}
	l.Release()
	<-blockingDone
	if a, b := <-order, <-order; a != "blocking" || b != "callback" {
		t.Errorf("hand-over order = %s, %s; want blocking, callback", a, b)
	}
	if l.InFlight() != 0 || l.Queued() != 0 {
		t.Errorf("after all released: in flight %d, queued %d", l.InFlight(), l.Queued())
	}
}

func TestEnqueueQueueFull(t *testing.T) {
	l := New(1, 1)
	l.TryAcquire()
	if _, _, err := l.Enqueue(func() {}); err != nil {
		t.Fatalf("first Enqueue: %v", err)
	}
	if _, ok, err := l.Enqueue(func() {}); ok || !errors.Is(err, ErrQueueFull) {
		t.Errorf("Enqueue on a full queue: acquired %v, err %v; want ErrQueueFull", ok, err)
	}
}

// TestCancel withdraws a ticket before and after its slot was handed over.
func TestCancel(t *testing.T) {
	l := New(1, 2)
	l.TryAcquire()
	granted := 0
	tk, _, _ := l.Enqueue(func() { granted++ })
	if handed := l.Cancel(tk); handed {
		t.Fatal("Cancel of a waiting ticket reported the slot handed over")
	}
	if l.Queued() != 0 {
		t.Fatalf("Queued after Cancel = %d, want 0", l.Queued())
	}
	tk, _, _ = l.Enqueue(func() { granted++ })
	l.Release() // hands the slot to tk
	if granted != 1 {
		t.Fatalf("granted called %d times, want 1", granted)
	}
	if handed := l.Cancel(tk); !handed {
		t.Fatal("Cancel after the hand-over did not report it")
	}
	if l.InFlight() != 1 {
		t.Fatalf("InFlight = %d, want 1 (the canceller holds the slot)", l.InFlight())
	}
	l.Release()
	if l.InFlight() != 0 || l.Queued() != 0 {
		t.Errorf("after release: in flight %d, queued %d", l.InFlight(), l.Queued())
	}
}
