package platform

import (
	"context"
	"testing"
	"time"

	"github.com/ebb-run/ebb/config"
)

// testApp is an app with n ready, routable replicas whose processes are
// fakes at addr; nothing is started.
func testApp(t testing.TB, n, concurrency int, lb string, addr string) *App {
	t.Helper()
	cfg := &config.Config{
		Deployment: config.Deployment{Name: "app", DisableAuth: true},
		Scaling: config.Scaling{MinReplicas: n, MaxReplicas: n, ReplicaConcurrency: concurrency,
			ResponseGracePeriod: 5, LoadBalancingAlgorithm: lb},
		Runtime: config.Runtime{Custom: config.CustomRuntime{Entrypoint: []string{"true"}}},
	}
	p, err := New([]*config.Config{cfg}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := p.App("app")
	a.mu.Lock()
	for range n {
		a.nextID++
		r := newReplica(a, a.current, "r"+string(rune('0'+a.nextID)), time.Now())
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		r.cur.Store(&incarnation{addr: addr, ctx: ctx, cancel: cancel})
		r.state.Store(int32(Ready))
		r.routable.Store(true)
		a.current.replicas = append(a.current.replicas, r)
	}
	a.rebuildRoutesLocked()
	a.mu.Unlock()
	return a
}

func (a *App) replicasForTest() []*Replica {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*Replica(nil), a.current.replicas...)
}
