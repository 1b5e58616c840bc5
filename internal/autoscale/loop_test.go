package autoscale

import (
	"context"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebb-run/ebb/config"
)

type recordingApp struct {
	mu      sync.Mutex
	obs     Observation
	desired []int
	set     chan int
}

func (a *recordingApp) Observe() Observation {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.obs
}

func (a *recordingApp) SetDesired(_ Policy, d Decision) {
	n := d.Desired
	a.mu.Lock()
	a.desired = append(a.desired, n)
	a.mu.Unlock()
	select {
	case a.set <- n:
	default:
	}
}

func TestLoopWakeScalesAtOnce(t *testing.T) {
	app := &recordingApp{set: make(chan int, 16)}
	p := Policy{Metric: config.MetricConcurrency, Concurrency: 1, Target: 100, Max: 5, Window: 30 * time.Second, Cooldown: time.Minute}
	l := NewLoop(app, func() Policy { return p }, LoopOptions{Every: time.Hour}) // ticks never come: only wakes evaluate
	wake := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx, wake); close(done) }()
	defer func() { cancel(); <-done }()

	if n := <-app.set; n != 0 {
		t.Fatalf("first evaluation of an idle app: %d, want 0", n)
	}
	app.mu.Lock()
	app.obs = Observation{InFlight: 1, Queued: 3}
	app.mu.Unlock()
	wake <- struct{}{}
	select {
	case n := <-app.set:
		if n != 4 {
			t.Fatalf("after a wake with 3 waiting: desired %d, want 4", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a wake did not cause an evaluation")
	}
}

func TestLoopCPUFromRealProcess(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "while :; do :; done")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pg := cmd.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(-pg, syscall.SIGKILL); _ = cmd.Wait() })

	app := &recordingApp{set: make(chan int, 1), obs: Observation{Groups: []int{pg}}}
	// A busy loop against 0.05 cores per replica (1 core at 5%): even on
	// a loaded machine it gets well over 0.05 cores, so more than one replica.
	p := Policy{Metric: config.MetricCPU, Target: 5, CPUCores: 1, Min: 1, Max: 40, Window: 2 * time.Second}
	l := NewLoop(app, func() Policy { return p }, LoopOptions{})
	var d Decision
	for i := 0; i < 12; i++ {
		d = l.Step()
		time.Sleep(100 * time.Millisecond)
	}
	if d.Value < 0.05 || d.Desired < 2 {
		t.Fatalf("busy loop measured %.2f cores, desired %d (%s)", d.Value, d.Desired, d.Reason)
	}
}
