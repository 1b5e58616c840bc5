package shim_test

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebb-run/ebb/graceful"
)

// TestDrainUnderLoadDropsNothing: 32 keep-alive clients send requests as
// fast as they can (a mix of instant ones and 20-100 ms ones) to an app
// that dies at SIGTERM; SIGTERM arrives mid-load. Every request gets
// either its 200 or the drain answer (503 with the marker), none fails or
// is cut, until the drain answer tells that client to go.
func TestDrainUnderLoadDropsNothing(t *testing.T) {
	forEachServer(t, testDrainUnderLoadDropsNothing)
}

func testDrainUnderLoadDropsNothing(t *testing.T, mode string) {
	e := startEbb(t, mode, "--grace", "10", "--ready-path", "/ready", "--concurrency", "16", "--",
		appServerBin, "-on-sigterm", "die")
	e.waitReady("/ready", 10*time.Second)

	const clients = 32
	var ok, drained, failed atomic.Int64
	var firstErr atomic.Value
	stop := time.Now().Add(10 * time.Second) // a bound in case the drain never answers
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			c := newClient()
			defer c.CloseIdleConnections()
			paths := []string{"/", "/sleep?d=20ms", "/", "/sleep?d=100ms"}
			for n := 0; time.Now().Before(stop); n++ {
				r := do(c, "GET", e.url(paths[(i+n)%len(paths)]))
				switch {
				case r.err == nil && r.code == http.StatusOK:
					ok.Add(1)
				case r.err == nil && r.code == http.StatusServiceUnavailable && r.header.Get(graceful.DrainHeader) != "":
					drained.Add(1)
					return // told to go elsewhere
				default:
					failed.Add(1)
					firstErr.CompareAndSwap(nil, strings.TrimSpace(r.body)+" "+errString(r.err)+" "+http.StatusText(r.code))
					return
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	e.sigterm()
	wg.Wait()
	e.wait(15 * time.Second)
	t.Logf("%d answered 200, %d drain answers, %d failed", ok.Load(), drained.Load(), failed.Load())
	if failed.Load() > 0 {
		t.Errorf("%d requests failed under load through the drain; first: %v", failed.Load(), firstErr.Load())
	}
	if drained.Load() != clients {
		t.Errorf("%d clients got the drain answer, want all %d", drained.Load(), clients)
	}
	if ok.Load() < 100 {
		t.Errorf("only %d requests answered before the drain; the load did not run", ok.Load())
	}
	e.assertGroupGone()
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
