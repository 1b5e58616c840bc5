package platform

import (
	"context"
	"errors"
	"time"

	"github.com/ebb-run/ebb/internal/probe"
)

// Probe timing for replicas that are already ready: readyEvery and
// healthEvery (the default of Options.HealthInterval) are the periods of
// the checks; healthFailures consecutive
// health failures replace the replica. Readiness while starting is polled
// by probe.WaitReady, fast at first and then backing off, so that a cold
// start is noticed within milliseconds.
const (
	readyEvery     = 500 * time.Millisecond
	healthEvery    = 2 * time.Second
	healthFailures = 3
)

var (
	errExited  = errors.New("process exited")
	errStopped = errors.New("stop requested")
)

// newProber returns the readiness or health check of path at addr: HTTP
// 200 on path, or a TCP connect when path is empty.
func newProber(addr, path string) *probe.Prober {
	return &probe.Prober{Addr: addr, Path: path, Timeout: time.Second}
}

// waitReady polls c until it passes, the instance exits (errExited), stop
// is closed (errStopped) or ctx ends.
func waitReady(ctx context.Context, c probe.Checker, inst Instance, stop <-chan struct{}) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-inst.Done():
		case <-stop:
		case <-wctx.Done():
		}
		cancel()
	}()
	err := probe.WaitReady(wctx, c, probe.Backoff{}, nil)
	if err == nil {
		return nil
	}
	select {
	case <-inst.Done():
		return errExited
	case <-stop:
		return errStopped
	default:
	}
	return err
}
