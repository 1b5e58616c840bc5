package check

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ebb-run/ebb/internal/supervisor"
)

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
