package platform

import (
	"sync"
	"testing"
	"time"
)

// TestCloseGateIsFinal checks the termination sequence's first step: once
// closeGate returns, no request can be admitted, so the in-flight count is
// final. Goroutines reserve slots in a tight loop (holding them, so every
// admission shows in the count) while the gate closes at a varying moment;
// the count must not move after closeGate returns.
func TestCloseGateIsFinal(t *testing.T) {
	for round := range 50 {
		a := testApp(t, 1, 1<<20, "", "127.0.0.1:1")
		r := a.replicasForTest()[0]
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					r.reserve()
				}
			})
		}
		time.Sleep(time.Duration(round%7) * 50 * time.Microsecond)
		r.closeGate()
		final := r.InFlight()
		time.Sleep(time.Millisecond)
		if now := r.InFlight(); now != final {
			t.Fatalf("round %d: %d requests admitted after closeGate returned", round, now-final)
		}
		close(stop)
		wg.Wait()
	}
}

func TestReserveRespectsConcurrency(t *testing.T) {
	a := testApp(t, 1, 3, "", "127.0.0.1:1")
	r := a.replicasForTest()[0]
	for i := range 3 {
		if r.reserve() == nil {
			t.Fatalf("reserve %d of 3 failed", i+1)
		}
	}
	if r.reserve() != nil {
		t.Fatal("a fourth reserve succeeded with replica_concurrency 3")
	}
	r.release()
	if r.reserve() == nil {
		t.Fatal("reserve failed after a release")
	}
}
