// Package check tests how an app behaves when it is told to stop: it starts
// the app, waits until it is ready, holds requests in flight, sends SIGTERM
// and observes at fine resolution what a router would see (readiness, new
// requests, the in-flight requests, the exit and its code, leftover
// processes) until the app exits or the grace period ends in a SIGKILL. The
// result is a timeline and a PASS/WARN/FAIL verdict per property, each with
// one line on how to fix it.
package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ebb-run/ebb/internal/probe"
	"github.com/ebb-run/ebb/internal/supervisor"
)

// Timing of the phases around the SIGTERM.
const (
	baselineRequests = 5
	// observeBefore is how long the observers run before the SIGTERM, so
	// that the timeline shows the state before it.
	observeBefore = 100 * time.Millisecond
	// settleInFlight lets the server start handling the slow requests once
	// they are written.
	settleInFlight = 150 * time.Millisecond
	// clientLoad is how long the concurrent clients send before SIGTERM.
	clientLoad = 300 * time.Millisecond
	// leftoverSettle is how long processes of the group may take to exit
	// after the leader before they count as left over.
	leftoverSettle = 100 * time.Millisecond
	// observeAfter keeps the observers running after the app is gone.
	observeAfter = 50 * time.Millisecond
	// killWait bounds the wait for the group to vanish after SIGKILL.
	killWait = 2 * time.Second
	// outputLines is how many lines of the app's output the report keeps.
	outputLines = 30
)

// ErrNotReady is wrapped by Run when the app never became ready.
var ErrNotReady = errors.New("check: the app never became ready")

// Run checks the app described by o and returns the report. An error means
// the check itself could not be made (the app did not start, never became
// ready, or failed the baseline requests); the error then carries the app's
// last output. Run kills the app's process group before it returns.
func Run(ctx context.Context, o Options) (*Report, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	port := o.Port
	if port == 0 {
		if port, err = supervisor.FreePort(); err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
	}
	argv, _ := supervisor.PrepareCommand(o.Argv, o.ConfiguredPort, port)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	out := &tail{max: outputLines}
	var sink io.Writer = out
	if o.Output != nil {
		sink = io.MultiWriter(out, o.Output)
	}
	app, err := startApp(argv, o, port, sink)
	if err != nil {
		return nil, err
	}
	defer app.stop()
	failed := func(format string, args ...any) error {
		app.stop()
		err := fmt.Errorf(format, args...)
		if lines := out.Lines(); len(lines) > 0 {
			return fmt.Errorf("%w\nlast output of the app:\n  %s", err, strings.Join(lines, "\n  "))
		}
		return err
	}

	var tl timeline
	// Ready.
	startCtx, cancel := context.WithTimeout(ctx, o.StartupTimeout)
	prober := &probe.Prober{Addr: addr, Path: o.ReadyPath}
	err = probe.WaitReady(startCtx, prober, probe.Backoff{Initial: 5 * time.Millisecond, Max: 100 * time.Millisecond}, app.proc.Done())
	cancel()
	prober.Close()
	if err != nil {
		if app.proc.Exited() {
			return nil, failed("check: %s exited with %d before it was ready on %s: %v", argv[0], app.proc.ExitCode(), addr, ErrNotReady)
		}
		return nil, failed("check: %s not ready on %s within %v: %v: %w", argv[0], addr, o.StartupTimeout, err, ErrNotReady)
	}
	tl.add(time.Now(), "check", "ready on "+addr)

	leader := Proc{PID: app.proc.Pid(), Comm: commOf(app.proc.Pid())}
	members := groupProcs(leader.PID)
	inodes := listeningInodes(port)
	holders := socketHolders(members, inodes)
	ignores := false
	for _, h := range holders {
		if ign, _ := signalDisposition(h.PID, int(syscall.SIGTERM)); ign {
			ignores = true
		}
	}
	if len(holders) > 0 {
		names := make([]string, len(holders))
		for i, h := range holders {
			names[i] = h.String()
		}
		tl.add(time.Now(), "process", "listener held by "+strings.Join(names, ", "))
	}

	// Baseline.
	normal := request{method: o.Method, url: "http://" + addr + o.Path, body: o.Data}
	var slowest time.Duration
	for range baselineRequests {
		a := do(ctx, normal, 10*time.Second, nil)
		if a.outcome != Served {
			return nil, failed("check: baseline %s %s: %s (%s): pass --method/--path/--data for a request the app serves with 2xx",
				o.Method, o.Path, a.outcome.describe(a.status), a.detail)
		}
		slowest = max(slowest, a.end.Sub(a.start))
	}
	tl.add(time.Now(), "check", fmt.Sprintf("%d baseline requests %s %s served, slowest %v", baselineRequests, o.Method, o.Path, slowest.Round(100*time.Microsecond)))
	hang := min(max(time.Second, 10*slowest), o.Grace)

	// In flight.
	fl := &inFlight{req: normal, n: o.InFlight, timeout: o.Grace + 10*time.Second}
	if o.SlowPath != "" {
		fl.slow, fl.req = true, request{method: "GET", url: "http://" + addr + o.SlowPath}
	}
	defer fl.wait()
	defer fl.sigterm()
	startCtx, cancel = context.WithTimeout(ctx, 10*time.Second)
	err = fl.start(startCtx)
	cancel()
	if err != nil {
		return nil, failed("%v", err)
	}

	// Observers.
	obsCtx, stopObservers := context.WithCancel(ctx)
	var observers sync.WaitGroup
	defer observers.Wait()
	defer stopObservers()
	ready := &readinessObserver{addr: addr, path: o.ReadyPath, interval: o.Interval, tl: &tl}
	watch := &serverWatch{port: port, holders: holders, inodes: inodes, leader: leader.PID, interval: o.Interval / 2, tl: &tl}
	observers.Add(2)
	go func() { defer observers.Done(); ready.run(obsCtx) }()
	go func() { defer observers.Done(); watch.run(obsCtx) }()

	if fl.slow {
		time.Sleep(settleInFlight)
	} else {
		time.Sleep(clientLoad)
	}
	time.Sleep(observeBefore)
	for _, a := range fl.results() {
		if fl.slow && a.outcome != Served {
			return nil, failed("check: slow request GET %s ended before SIGTERM: %s (%s)", o.SlowPath, a.outcome.describe(a.status), a.detail)
		}
	}
	if fl.slow && len(fl.results()) > 0 {
		return nil, failed("check: slow request GET %s ended before SIGTERM: make it slower (it must outlast the setup, about %v)",
			o.SlowPath, settleInFlight+observeBefore)
	}

	// SIGTERM, to the leader only: whether it reaches the server is one of
	// the things checked.
	fl.sigterm()
	sigAt := time.Now()
	if err := app.proc.Signal(syscall.SIGTERM); err != nil {
		return nil, failed("check: %v", err)
	}
	tl.add(sigAt, "process", "SIGTERM sent to "+leader.String())
	newReqs := &newRequestObserver{req: normal, hang: hang, interval: o.Interval + o.Interval/3}
	observers.Add(1)
	go func() { defer observers.Done(); newReqs.run(obsCtx) }()

	ob := &observation{sigAt: sigAt, grace: o.Grace, port: port, readyPath: o.ReadyPath, hang: hang,
		leader: leader, holders: holders, holderIgnoresTERM: ignores}
	app.awaitExit(ctx, ob, &tl)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("check: interrupted: %w", err)
	}

	time.Sleep(observeAfter)
	stopObservers()
	observers.Wait()
	fl.wait()

	ob.listenerClosedAt, ob.holderExitAt = watch.listenerClosedAt, watch.holderExitAt
	ob.readiness = ready.samples
	for _, a := range newReqs.results() {
		if !a.start.Before(sigAt) {
			ob.newReqs = append(ob.newReqs, a)
		}
	}
	for _, a := range fl.results() {
		if a.start.Before(sigAt) && a.end.After(sigAt) {
			ob.inflight = append(ob.inflight, a)
		}
	}
	addRequestEvents(&tl, ob)

	app.stop() // closes the output pipe, so the tail is complete
	r := &Report{
		Command: argv, Port: port, GraceMS: o.Grace.Milliseconds(), ReadyPath: o.ReadyPath,
		Leader: leader, Server: holders,
		Exit: Exit{
			LeaderMS: ms(ob.leaderExitAt.Sub(sigAt)), Code: ob.exitCode, AppMS: ms(ob.appExitAt.Sub(sigAt)),
			Killed: ob.killed(), Leftovers: ob.leftovers,
		},
		Timeline: tl.relative(sigAt),
		Verdicts: ob.verdicts(),
		Output:   out.Lines(),
	}
	if r.Server == nil {
		r.Server = []Proc{}
	}
	if r.Exit.Leftovers == nil {
		r.Exit.Leftovers = []Proc{}
	}
	r.OK = r.Worst() != Fail
	return r, nil
}

// addRequestEvents puts the in-flight outcomes and runs of new-request
// outcomes on the timeline.
func addRequestEvents(tl *timeline, ob *observation) {
	for i, a := range ob.inflight {
		text := fmt.Sprintf("#%d: %s, %d body bytes", i+1, a.outcome.describe(a.status), a.body)
		if a.outcome != Served && a.status != 0 {
			text = fmt.Sprintf("#%d: status %d, then cut after %d body bytes", i+1, a.status, a.body)
		}
		if a.outcome == Served {
			text = fmt.Sprintf("#%d: completed, status %d, %d body bytes", i+1, a.status, a.body)
		}
		tl.add(a.end, "in_flight", text)
	}
	for i := 0; i < len(ob.newReqs); {
		first := ob.newReqs[i]
		kind := first.outcome.describe(first.status)
		j := i + 1
		for j < len(ob.newReqs) && ob.newReqs[j].outcome.describe(ob.newReqs[j].status) == kind {
			j++
		}
		tl.add(first.start, "new_request", describeRun(first, j-i, ms(ob.newReqs[j-1].start.Sub(ob.sigAt))))
		i = j
	}
}

// groupProcs lists the live processes of group pgid with their names.
func groupProcs(pgid int) []Proc {
	pids, err := supervisor.GroupMembers(pgid)
	if err != nil {
		return nil
	}
	out := make([]Proc, 0, len(pids))
	for _, pid := range pids {
		out = append(out, Proc{PID: pid, Comm: commOf(pid)})
	}
	return out
}

// commOf is the process's name from /proc, or "?" once it is gone.
func commOf(pid int) string {
	st, err := readStat(pid)
	if err != nil {
		return "?"
	}
	return st.comm
}

// appProcess is the app under check: the supervised leader and the pipe its
// output comes through.
type appProcess struct {
	proc     *supervisor.Process
	output   *os.File // read end
	copied   chan struct{}
	stopOnce sync.Once
}

// startApp starts argv in its own process group with PORT set. Output goes
// through a pipe of our own (not the supervisor's copier) so that the
// leader's exit is seen at once even when a leftover child still holds the
// pipe.
func startApp(argv []string, o Options, port int, sink io.Writer) (*appProcess, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("check: output pipe: %w", err)
	}
	env := append(append([]string(nil), o.Env...),
		"PORT="+strconv.Itoa(port),
		"EBB_GRACE_PERIOD="+strconv.FormatFloat(o.Grace.Seconds(), 'f', -1, 64))
	proc, err := supervisor.Start(supervisor.Options{Argv: argv, Dir: o.Dir, Env: env, Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("check: %w", err)
	}
	a := &appProcess{proc: proc, output: r, copied: make(chan struct{})}
	go func() {
		defer close(a.copied)
		_, _ = io.Copy(sink, r)
	}()
	return a, nil
}

// stop kills whatever is left of the group, waits for the leader and stops
// copying output. Idempotent.
func (a *appProcess) stop() {
	a.stopOnce.Do(func() {
		_ = a.proc.Kill()
		select {
		case <-a.proc.Done():
		case <-time.After(killWait):
		}
		// A process that escaped the group may hold the pipe: stop waiting
		// for it after a moment.
		_ = a.output.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		<-a.copied
		a.output.Close()
	})
}

// awaitExit waits until the whole group is gone or the grace period ends,
// SIGKILLs the group then, and records exit times, code and leftovers.
func (a *appProcess) awaitExit(ctx context.Context, ob *observation, tl *timeline) {
	deadline := time.NewTimer(time.Until(ob.sigAt.Add(ob.grace)))
	defer deadline.Stop()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	leaderDone := a.proc.Done()
	kill := func(why string) {
		ob.killedAt = time.Now()
		_ = a.proc.Kill()
		tl.add(ob.killedAt, "process", "SIGKILL sent to group "+strconv.Itoa(ob.leader.PID)+why)
	}
	for {
		select {
		case <-leaderDone:
			leaderDone = nil
			ob.leaderExitAt, ob.exitCode = time.Now(), a.proc.ExitCode()
			tl.add(ob.leaderExitAt, "process", fmt.Sprintf("%s exited with %s", ob.leader, describeCode(ob.exitCode)))
			if !ob.killed() {
				a.recordLeftovers(ob, tl)
			}
		case <-deadline.C:
			if ob.killed() {
				continue
			}
			kill(" at the grace deadline")
			// Bound the wait for the group to vanish.
			deadline.Reset(killWait)
		case <-ctx.Done():
			if !ob.killed() {
				kill(": check cancelled")
			}
		case <-poll.C:
		}
		if leaderDone == nil && len(groupProcs(ob.leader.PID)) == 0 {
			ob.appExitAt = time.Now()
			if len(ob.leftovers) == 0 && !ob.killed() {
				ob.appExitAt = ob.leaderExitAt // nothing outlived the leader
			}
			if len(ob.leftovers) > 0 {
				tl.add(ob.appExitAt, "process", "last process of the group gone")
			}
			return
		}
		if ob.killed() && time.Since(ob.killedAt) > killWait {
			ob.appExitAt = time.Now()
			if leaderDone != nil { // never reaped: leave it be
				ob.leaderExitAt, ob.exitCode = ob.appExitAt, -1
			}
			return
		}
	}
}

// recordLeftovers notes the processes of the group still running a moment
// after the leader exited.
func (a *appProcess) recordLeftovers(ob *observation, tl *timeline) {
	settle := time.Now().Add(leftoverSettle)
	for {
		left := groupProcs(ob.leader.PID)
		if len(left) == 0 {
			return
		}
		if time.Now().After(settle) {
			ob.leftovers = left
			names := make([]string, len(left))
			for i, p := range left {
				names[i] = p.String()
			}
			tl.add(time.Now(), "process", "still running after the leader exited: "+strings.Join(names, ", "))
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// describeCode says what an exit status means.
func describeCode(code int) string {
	switch {
	case code == 143:
		return "143 (SIGTERM)"
	case code == 137:
		return "137 (SIGKILL)"
	case code > 128:
		return fmt.Sprintf("%d (signal %d)", code, code-128)
	}
	return strconv.Itoa(code)
}
