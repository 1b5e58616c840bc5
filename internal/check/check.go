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
	// minHang is the least time a new request may go unanswered before it
	// counts as hung.
	minHang = 2 * time.Second
	// outputLines is how many lines of the app's output the report keeps.
	outputLines = 30
)

// ErrNotReady is wrapped by Run when the app never became ready.
var ErrNotReady = errors.New("check: the app never became ready")

// Run checks the app described by o and returns the report. An error means
// the check itself could not be made (the app did not start, never became
// ready, or failed the baseline requests; the error then carries the app's
// last output) or ctx ended. Run kills the app's process group before it
// returns.
func Run(ctx context.Context, o Options) (*Report, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &session{o: o, out: &tail{max: outputLines}}
	if err := s.start(); err != nil {
		return nil, err
	}
	defer s.app.stop()
	for _, phase := range []func(context.Context) error{s.awaitReady, s.baseline} {
		if err := phase(ctx); err != nil {
			return nil, s.withOutput(err)
		}
	}
	s.inspect()
	return s.terminate(ctx)
}

// session is one check in progress: the app and what is known about it.
type session struct {
	o    Options
	port int
	addr string
	argv []string
	out  *tail
	app  *appProcess
	tl   timeline

	leader  Proc
	holders []Proc          // processes holding the listener when ready
	inodes  map[uint64]bool // its sockets
	ignores bool            // a holder ignores SIGTERM
	normal  request
	slowest time.Duration // the slowest baseline request
	hang    time.Duration
}

// start picks the port and starts the app.
func (s *session) start() error {
	s.port = s.o.Port
	if s.port == 0 {
		var err error
		if s.port, err = supervisor.FreePort(); err != nil {
			return err
		}
	}
	s.argv, _ = supervisor.PrepareCommand(s.o.Argv, s.o.ConfiguredPort, s.port)
	s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	s.normal = request{method: s.o.Method, url: "http://" + s.addr + s.o.Path, body: s.o.Data}
	var sink io.Writer = s.out
	if s.o.Output != nil {
		sink = io.MultiWriter(s.out, s.o.Output)
	}
	var err error
	s.app, err = startApp(s.argv, s.o, s.port, sink)
	return err
}

// withOutput stops the app and adds its last output to err.
func (s *session) withOutput(err error) error {
	s.app.stop()
	if lines := s.out.Lines(); len(lines) > 0 {
		return fmt.Errorf("%w\nlast output of the app:\n  %s", err, strings.Join(lines, "\n  "))
	}
	return err
}

// awaitReady waits until the readiness check passes.
func (s *session) awaitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.o.StartupTimeout)
	defer cancel()
	prober := &probe.Prober{Addr: s.addr, Path: s.o.ReadyPath}
	defer prober.Close()
	err := probe.WaitReady(ctx, prober, probe.Backoff{Initial: 5 * time.Millisecond, Max: 100 * time.Millisecond}, s.app.proc.Done())
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("check: interrupted: %w", ctx.Err())
		}
		if s.app.proc.Exited() {
			return fmt.Errorf("check: %s exited with %d before it was ready on %s: %w", s.argv[0], s.app.proc.ExitCode(), s.addr, ErrNotReady)
		}
		return fmt.Errorf("check: %s not ready on %s within %v: %v: %w", s.argv[0], s.addr, s.o.StartupTimeout, err, ErrNotReady)
	}
	if s.app.proc.Exited() && len(groupProcs(s.app.proc.Pid())) == 0 {
		return fmt.Errorf("check: %s exited with %d, yet %s answers: another process holds the port: %w",
			s.argv[0], s.app.proc.ExitCode(), s.addr, ErrNotReady)
	}
	s.tl.add(time.Now(), "check", "ready on "+s.addr)
	return nil
}

// baseline sends the normal request a few times; each must be served. The
// slowest sets the bound after which a request counts as hung.
func (s *session) baseline(ctx context.Context) error {
	var slowest time.Duration
	for range baselineRequests {
		a := do(ctx, s.normal, 10*time.Second, nil)
		if a.outcome != Served {
			return fmt.Errorf("check: baseline %s %s: %s (%s): pass --method/--path/--data for a request the app serves with 2xx",
				s.o.Method, s.o.Path, a.outcome.describe(a.status), a.detail)
		}
		slowest = max(slowest, a.end.Sub(a.start))
	}
	s.tl.add(time.Now(), "check", fmt.Sprintf("%d baseline requests %s %s served, slowest %v",
		baselineRequests, s.o.Method, s.o.Path, slowest.Round(100*time.Microsecond)))
	s.slowest = slowest
	s.hang = min(max(minHang, 10*slowest), s.o.Grace)
	return nil
}

// inspect finds which processes of the group hold the listening socket and
// whether they ignore SIGTERM.
func (s *session) inspect() {
	s.leader = Proc{PID: s.app.proc.Pid(), Comm: commOf(s.app.proc.Pid())}
	s.inodes = listeningInodes(s.port)
	s.holders = socketHolders(groupProcs(s.leader.PID), s.inodes)
	for _, h := range s.holders {
		if ign, _ := signalDisposition(h.PID, int(syscall.SIGTERM)); ign {
			s.ignores = true
		}
	}
	if len(s.holders) > 0 {
		names := make([]string, len(s.holders))
		for i, h := range s.holders {
			names[i] = h.String()
		}
		s.tl.add(time.Now(), "process", "listener held by "+strings.Join(names, ", "))
	}
}

// terminate holds requests in flight, sends SIGTERM, observes until the app
// is gone (SIGKILLing it at the grace period) and builds the report.
func (s *session) terminate(ctx context.Context) (*Report, error) {
	fl := &inFlight{req: s.normal, n: s.o.InFlight, timeout: s.o.Grace + 10*time.Second}
	if s.o.SlowPath != "" {
		fl.slow, fl.req = true, request{method: "GET", url: "http://" + s.addr + s.o.SlowPath}
	}
	defer fl.wait()
	defer fl.sigterm()
	startCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := fl.start(startCtx, s.slowest)
	cancel()
	if err != nil {
		return nil, s.withOutput(err)
	}

	obsCtx, stopObservers := context.WithCancel(ctx)
	var observers sync.WaitGroup
	defer observers.Wait()
	defer stopObservers()
	observe := func(run func(context.Context)) {
		observers.Add(1)
		go func() { defer observers.Done(); run(obsCtx) }()
	}
	ready := &readinessObserver{addr: s.addr, path: s.o.ReadyPath, interval: s.o.Interval, tl: &s.tl}
	watch := &serverWatch{port: s.port, holders: s.holders, inodes: s.inodes, leader: s.leader.PID, interval: s.o.Interval / 2, tl: &s.tl}
	observe(ready.run)
	observe(watch.run)

	settle := clientLoad
	if fl.slow {
		settle = settleInFlight
	}
	if err := sleep(ctx, settle+observeBefore); err != nil {
		return nil, err
	}
	if done := fl.results(); fl.slow && len(done) > 0 {
		a := done[0]
		return nil, s.withOutput(fmt.Errorf("check: slow request GET %s ended before SIGTERM: %s (%s): it must be answered 2xx and last well over %v",
			s.o.SlowPath, a.outcome.describe(a.status), a.detail, settle+observeBefore))
	}

	// SIGTERM, to the leader only: whether it reaches the server is one of
	// the things checked.
	fl.sigterm()
	sigAt := time.Now()
	if err := s.app.proc.Signal(syscall.SIGTERM); err != nil {
		return nil, s.withOutput(fmt.Errorf("check: %w", err))
	}
	s.tl.add(sigAt, "process", "SIGTERM sent to "+s.leader.String())
	newReqs := &newRequestObserver{req: s.normal, hang: s.hang, interval: s.o.Interval + s.o.Interval/3}
	observe(newReqs.run)

	ob := &observation{sigAt: sigAt, grace: s.o.Grace, port: s.port, readyPath: s.o.ReadyPath, hang: s.hang,
		leader: s.leader, holders: s.holders, holderIgnoresTERM: s.ignores}
	s.app.awaitExit(ctx, ob, &s.tl)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("check: interrupted: %w", err)
	}
	_ = sleep(ctx, observeAfter)
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
	s.app.stop() // closes the output pipe, so the tail is complete
	return s.report(ob), nil
}

// report builds the report from the observation.
func (s *session) report(ob *observation) *Report {
	addRequestEvents(&s.tl, ob)
	r := &Report{
		Command: s.argv, Port: s.port, GraceMS: s.o.Grace.Milliseconds(), ReadyPath: s.o.ReadyPath,
		Leader: s.leader, Server: s.holders,
		Exit: Exit{
			LeaderMS: ms(ob.leaderExitAt.Sub(ob.sigAt)), Code: ob.exitCode, AppMS: ms(ob.appExitAt.Sub(ob.sigAt)),
			Killed: ob.killed(), Leftovers: ob.leftovers,
		},
		Timeline: s.tl.relative(ob.sigAt),
		Verdicts: ob.verdicts(),
		Output:   s.out.Lines(),
	}
	if r.Server == nil {
		r.Server = []Proc{}
	}
	if r.Exit.Leftovers == nil {
		r.Exit.Leftovers = []Proc{}
	}
	r.OK = r.Worst() != Fail
	return r
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("check: interrupted: %w", ctx.Err())
	}
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
