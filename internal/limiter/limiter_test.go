package limiter

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestCapacityHoldsExactly runs 200 goroutines through a limiter of 7 and
// checks that no more than 7 ever hold a slot at once, and that all finish.
func TestCapacityHoldsExactly(t *testing.T) {
	const capacity, clients = 7, 200
	l := New(capacity, clients)
	var cur, peak atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range clients {
		wg.Go(func() {
			<-start
			for range 20 {
				release, err := l.Reserve(context.Background())
				if err != nil {
					t.Errorf("Reserve: %v", err)
					return
				}
				n := cur.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				if n > capacity {
					t.Errorf("holders = %d, capacity %d", n, capacity)
				}
				time.Sleep(10 * time.Microsecond)
				cur.Add(-1)
				release()
			}
		})
	}
	close(start)
	wg.Wait()
	if got := peak.Load(); got != capacity {
		t.Errorf("peak holders = %d, want exactly %d", got, capacity)
	}
	if l.InFlight() != 0 || l.Queued() != 0 {
		t.Errorf("after all released: in flight %d, queued %d; want 0, 0", l.InFlight(), l.Queued())
	}
}

func TestQueueIsFIFO(t *testing.T) {
	l := New(1, 10)
	release, err := l.Reserve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var order []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			r, err := l.Reserve(context.Background())
			if err != nil {
				t.Errorf("Reserve %d: %v", i, err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			r()
		})
		waitFor(t, func() bool { return l.Queued() == i+1 })
	}
	release()
	wg.Wait()
	for i, v := range order {
		if v != i {
			t.Fatalf("served in order %v, want 0..4", order)
		}
	}
}

func TestQueueFull(t *testing.T) {
	l := New(2, 1)
	r1, _ := l.Reserve(context.Background())
	r2, _ := l.Reserve(context.Background())
	done := make(chan error, 1)
	go func() {
		r, err := l.Reserve(context.Background())
		if err == nil {
			r()
		}
		done <- err
	}()
	waitFor(t, func() bool { return l.Queued() == 1 })
	if _, err := l.Reserve(context.Background()); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Reserve with full queue: err = %v, want ErrQueueFull", err)
	}
	if _, ok := l.TryReserve(); ok {
		t.Fatal("TryReserve succeeded with every slot taken")
	}
	r1()
	if err := <-done; err != nil {
		t.Fatalf("queued Reserve: %v", err)
	}
	r2()
}

func TestNoQueue(t *testing.T) {
	l := New(1, 0)
	r, err := l.Reserve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Reserve(context.Background()); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("err = %v, want ErrQueueFull", err)
	}
	r()
}

func TestAbandonedWait(t *testing.T) {
	l := New(1, 5)
	r, _ := l.Reserve(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := l.Reserve(ctx)
		errc <- err
	}()
	waitFor(t, func() bool { return l.Queued() == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned Reserve: err = %v, want context.Canceled", err)
	}
	if l.Queued() != 0 {
		t.Fatalf("queued = %d after abandon, want 0", l.Queued())
	}
	r()
	if l.InFlight() != 0 {
		t.Fatalf("in flight = %d, want 0", l.InFlight())
	}
	// The slot is usable again, and a done context fails before queueing.
	if _, err := l.Reserve(ctx); err != nil {
		t.Fatalf("Reserve with free slot and done ctx: %v (the fast path ignores ctx)", err)
	}
}

// TestAbandonRacesHandoff cancels waiters while slots are being handed to
// them; slots must never leak.
func TestAbandonRacesHandoff(t *testing.T) {
	l := New(3, 1000)
	var wg sync.WaitGroup
	for i := range 300 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%7)*50*time.Microsecond)
			defer cancel()
			if r, err := l.Reserve(ctx); err == nil {
				time.Sleep(20 * time.Microsecond)
				r()
			}
		})
	}
	wg.Wait()
	if l.InFlight() != 0 || l.Queued() != 0 {
		t.Fatalf("in flight %d, queued %d after all done; want 0, 0", l.InFlight(), l.Queued())
	}
}

func TestReleaseIdempotent(t *testing.T) {
	l := New(2, 0)
	r, _ := l.Reserve(context.Background())
	r2, ok := l.TryReserve()
	if !ok {
		t.Fatal("TryReserve failed with a free slot")
	}
	r()
	r()
	if got := l.InFlight(); got != 1 {
		t.Fatalf("in flight after double release = %d, want 1", got)
	}
	r2()
	r2()
	if got := l.InFlight(); got != 0 {
		t.Fatalf("in flight = %d, want 0", got)
	}
}

func TestFreeCountsQueue(t *testing.T) {
	l := New(2, 2)
	if l.Free() != 2 {
		t.Fatalf("Free = %d, want 2", l.Free())
	}
	r1, _ := l.Reserve(context.Background())
	if l.Free() != 1 {
		t.Fatalf("Free = %d, want 1", l.Free())
	}
	r1()
}

func TestNewPanicsOnBadCapacity(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New(0, 0) did not panic")
		}
	}()
	New(0, 0)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5s")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	l := New(1<<20, 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := l.Acquire(ctx); err != nil {
				b.Fatal(err)
			}
			l.Release()
		}
	})
}

func BenchmarkReserveContended(b *testing.B) {
	l := New(2, 1<<20)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			r, err := l.Reserve(ctx)
			if err != nil {
				b.Fatal(err)
			}
			r()
		}
	})
}
