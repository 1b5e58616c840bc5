package platform

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestQueueIsFIFOAndBounded(t *testing.T) {
	a := testApp(t, 1, 1, "", "127.0.0.1:1")
	a.queue.max = 3
	held, _, _, err := a.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 3)
	for i := range 3 {
		go func() {
			rep, _, _, err := a.acquire(context.Background())
			if err != nil {
				t.Errorf("queued request %d: %v", i, err)
				return
			}
			order <- i
			time.Sleep(time.Millisecond)
			rep.release()
		}()
		waitUntil(t, func() bool { return a.Queued() == i+1 })
	}
	select {
	case <-a.QueuedSignal():
	default:
		t.Error("queueing did not signal")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, _, _, err := a.acquire(ctx); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("fourth waiter: %v, want ErrQueueFull", err)
	}
	held.release()
	for want := range 3 {
		if got := <-order; got != want {
			t.Fatalf("served %d, want %d (FIFO)", got, want)
		}
	}
}

func TestQueuedRequestGivesUpAtDeadline(t *testing.T) {
	a := testApp(t, 1, 1, "", "127.0.0.1:1")
	held, _, _, _ := a.acquire(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, _, err := a.acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire: %v, want DeadlineExceeded", err)
	}
	if a.Queued() != 0 {
		t.Fatalf("%d still queued", a.Queued())
	}
	held.release()
	if rep, _, _, err := a.acquire(context.Background()); err != nil || rep == nil {
		t.Fatalf("acquire after release: %v", err)
	}
}

func TestQueueWaitsForAReplicaToBecomeRoutable(t *testing.T) {
	a := testApp(t, 1, 1, "", "127.0.0.1:1")
	r := a.replicasForTest()[0]
	r.closeGate()
	got := make(chan error, 1)
	go func() {
		_, _, _, err := a.acquire(context.Background())
		got <- err
	}()
	waitUntil(t, func() bool { return a.Queued() == 1 })
	r.routable.Store(true)
	a.routesChanged()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
