package platform

import (
	"fmt"
	"time"
)

// killWait bounds how long the platform waits for a SIGKILLed process to be
// reaped before giving up on it.
const killWait = 5 * time.Second

// terminate runs the termination sequence on one incarnation of r, exactly
// as the seed describes it:
//
//  1. stop routing new requests to it, and wait until the router confirms
//     that nothing new can reach it (closeGate) and that the requests
//     already routed to it have been sent (waitDispatched);
//  2. SIGTERM its process group;
//  3. wait up to response_grace_period for it to finish its in-flight
//     requests and exit;
//  4. SIGKILL the group if it is still running; the requests it still held
//     are cancelled first, so the proxy answers them with 504.
//
// Every stop of a replica goes through terminate. It returns once the
// process is gone.
func (r *Replica) terminate(inc *incarnation, reason string) {
	a := r.app
	r.closeGate() // (1)
	r.waitDispatched()
	r.setState(Draining)
	grace := r.rev.cfg.Scaling.GracePeriod()
	a.logf("%s: draining (%s): %d in flight, grace period %s", r.ID, reason, r.InFlight(), grace)
	start := a.p.now()
	if err := inc.inst.Terminate(); err != nil { // (2)
		a.logf("%s: SIGTERM: %v", r.ID, err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	gone := inc.inst.Done()
	if g, ok := inc.inst.(groupWaiter); ok {
		gone = g.GroupDone()
	}
	select {
	case <-gone: // (3)
		a.logf("%s: exited %s after SIGTERM (%v)", r.ID, a.p.now().Sub(start).Round(time.Millisecond), exitText(inc.inst.ExitErr()))
	case <-timer.C: // (4)
		held := r.InFlight()
		inc.cancel()
		if err := inc.inst.Kill(); err != nil {
			a.logf("%s: SIGKILL: %v", r.ID, err)
		}
		a.logf("%s: still running after the grace period %s: killed, %d in-flight request(s) answered 504", r.ID, grace, held)
		select {
		case <-inc.inst.Done():
		case <-time.After(killWait):
			a.logf("%s: process %d not reaped %s after SIGKILL", r.ID, inc.inst.PID(), killWait)
		}
	}
	// The main process is gone; kill whatever it left in its group.
	_ = inc.inst.Kill()
	a.p.forget(inc.addr)
}

// sendSettle is how long the termination sequence lets requests that were
// routed to a replica before it left routing reach its socket before
// SIGTERM: a request written just after the app closed an idle keep-alive
// connection would fail without having been processed.
const sendSettle = 5 * time.Millisecond

// waitDispatched waits until every request reserved on r has been handed to
// the proxy (bounded by a second), and a moment more for it to be written.
func (r *Replica) waitDispatched() {
	if r.InFlight() == 0 {
		return
	}
	deadline := time.Now().Add(time.Second)
	for r.unsent.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
	}
	time.Sleep(sendSettle)
}

// groupWaiter is implemented by instances whose process may leave others
// running (a process group); GroupDone is closed when all are gone.
type groupWaiter interface {
	GroupDone() <-chan struct{}
}

var _ groupWaiter = (*localProcess)(nil)

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return fmt.Sprint(err)
}
