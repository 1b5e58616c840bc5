package check

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// observation is everything seen during one check; the verdict rules are
// pure functions of it.
type observation struct {
	sigAt     time.Time
	grace     time.Duration
	port      int
	readyPath string
	hang      time.Duration // a new request unanswered this long is hung

	leader  Proc
	holders []Proc // processes holding the listener when ready
	// holderIgnoresTERM: a holder had SIGTERM set to SIG_IGN when ready.
	holderIgnoresTERM bool

	leaderExitAt time.Time
	exitCode     int
	appExitAt    time.Time // the group was empty
	killedAt     time.Time // SIGKILL sent to the group; zero if not needed
	leftovers    []Proc

	listenerClosedAt time.Time         // zero if it never closed
	holderExitAt     map[int]time.Time // holders that exited, and when

	readiness []readinessSample
	newReqs   []attempt // started at or after SIGTERM
	inflight  []attempt // in flight at SIGTERM
}

// at formats t as time since SIGTERM.
func (o *observation) at(t time.Time) string { return fmtMS(ms(t.Sub(o.sigAt))) }

func fmtMS(v float64) string {
	if v >= 100 || v <= -100 {
		return fmt.Sprintf("%+.0f ms", v)
	}
	return fmt.Sprintf("%+.1f ms", v)
}

// killed reports whether the group needed SIGKILL.
func (o *observation) killed() bool { return !o.killedAt.IsZero() }

// idleAt is when the last in-flight request ended (SIGTERM if none was).
func (o *observation) idleAt() time.Time {
	idle := o.sigAt
	for _, a := range o.inflight {
		if a.end.After(idle) {
			idle = a.end
		}
	}
	return idle
}

// leaderHolds reports whether the leader itself holds the listener.
func (o *observation) leaderHolds() bool {
	for _, h := range o.holders {
		if h.PID == o.leader.PID {
			return true
		}
	}
	return false
}

// serverName names the server process(es) for messages.
func (o *observation) serverName() string {
	if len(o.holders) == 0 {
		return "the server"
	}
	names := make([]string, len(o.holders))
	for i, h := range o.holders {
		names[i] = h.String()
	}
	return "the server " + strings.Join(names, ", ")
}

// verdicts grades every property.
func (o *observation) verdicts() []Verdict {
	return []Verdict{
		o.inFlightVerdict(), o.readinessVerdict(), o.newRequestsVerdict(),
		o.exitPromptVerdict(), o.exitCodeVerdict(), o.reachesVerdict(), o.leftoversVerdict(),
	}
}

const drainFix = "on SIGTERM keep serving the requests already running and exit only once they are done " +
	"(http.Server.Shutdown, the graceful package, uvicorn's default)"

func (o *observation) inFlightVerdict() Verdict {
	v := Verdict{Property: InFlightComplete}
	n := len(o.inflight)
	if n == 0 {
		v.Status, v.Detail = Warn, "no request was in flight at SIGTERM, so none could be cut"
		v.Fix = "pass --slow-path with an endpoint that takes a few seconds (e.g. /slow?seconds=2)"
		return v
	}
	var cut []attempt
	for _, a := range o.inflight {
		if a.outcome != Served {
			cut = append(cut, a)
		}
	}
	if len(cut) == 0 {
		v.Status = Pass
		v.Detail = fmt.Sprintf("all %d requests in flight at SIGTERM completed with a full body, the last at %s",
			n, o.at(o.idleAt()))
		return v
	}
	v.Status = Fail
	first := cut[0]
	what := first.outcome.describe(first.status)
	if first.status != 0 && first.outcome != OtherStatus && first.outcome != Served {
		what = fmt.Sprintf("status %d, then %s after %d body bytes", first.status, first.outcome.describe(0), first.body)
	}
	byKill := o.killed() && !first.end.Before(o.killedAt)
	v.Detail = fmt.Sprintf("%d of %d requests in flight at SIGTERM did not complete; the first: %s at %s",
		len(cut), n, what, o.at(first.end))
	switch {
	case byKill && o.reacted():
		v.Detail += " (SIGKILL at the grace deadline)"
		v.Fix = "the requests outlived the grace period: make them shorter or raise response_grace_period"
	case byKill:
		v.Detail += " (SIGKILL at the grace deadline)"
		v.Fix = drainFix
	default:
		v.Fix = drainFix
	}
	return v
}

func (o *observation) readinessVerdict() Verdict {
	v := Verdict{Property: ReadinessFlips}
	after := o.readinessAfterSigterm()
	aliveAt := func(s readinessSample) bool {
		return s.end.Before(o.appExitAt.Add(-10*time.Millisecond)) && (!o.killed() || s.end.Before(o.killedAt))
	}
	if o.readyPath == "" {
		fix := "set readycheck_endpoint to a path that answers 503 as soon as SIGTERM arrives"
		for _, s := range after {
			if s.up() && s.start.Sub(o.sigAt) > PromptReadiness && aliveAt(s) {
				last := s
				for _, t := range after {
					if t.up() && aliveAt(t) {
						last = t
					}
				}
				v.Status, v.Fix = Fail, fix
				v.Detail = fmt.Sprintf("only a TCP check, and the port still accepted connections at %s: a router keeps sending requests",
					o.at(last.start))
				return v
			}
		}
		v.Status, v.Fix = Warn, fix
		v.Detail = "only a TCP check: a router treats the app as ready as long as its port accepts connections"
		return v
	}
	for _, s := range after {
		if s.notReadyAnswer() {
			d := s.end.Sub(o.sigAt)
			v.Detail = fmt.Sprintf("GET %s answered %d at %s", o.readyPath, s.status, o.at(s.end))
			if d <= PromptReadiness {
				v.Status = Pass
				return v
			}
			v.Status = Warn
			v.Detail += fmt.Sprintf(", more than %v after SIGTERM", PromptReadiness)
			v.Fix = "answer 503 on the readiness endpoint as soon as SIGTERM arrives, before draining"
			return v
		}
	}
	for _, s := range after {
		// A refusal only at the end, once the requests are done, is the
		// exit itself, not a readiness flip.
		// A timeout is no flip: on a busy machine a check can be slow.
		closed := s.state == "refused" || s.state == "reset"
		if closed && aliveAt(s) && s.start.Before(o.firstInFlightEnd().Add(-refusalMargin)) {
			v.Status = Warn
			v.Detail = fmt.Sprintf("GET %s was %s from %s while the app was still running; it never answered 503",
				o.readyPath, s.state, o.at(s.start))
			v.Fix = "keep the listener open while draining and answer 503 on the readiness endpoint: " +
				"a refused connection is fine only when the platform stops routing first"
			return v
		}
	}
	v.Status = Fail
	v.Fix = "answer 503 on the readiness endpoint as soon as SIGTERM arrives, before draining"
	var last200 *readinessSample
	for i := range after {
		if after[i].up() {
			last200 = &after[i]
		}
	}
	end := "exited"
	if o.killed() {
		end = "was killed with SIGKILL"
	}
	if last200 == nil {
		v.Detail = fmt.Sprintf("GET %s never answered not-ready: the app %s at %s", o.readyPath, end, o.at(o.appExitAt))
	} else {
		v.Detail = fmt.Sprintf("GET %s kept answering 200 (last at %s) until the app %s at %s",
			o.readyPath, o.at(last200.start), end, o.at(o.appExitAt))
	}
	return v
}

func (o *observation) readinessAfterSigterm() []readinessSample {
	var out []readinessSample
	for _, s := range o.readiness {
		if !s.end.Before(o.sigAt) { // answered after SIGTERM
			out = append(out, s)
		}
	}
	return out
}

// newRequestGrade says how one new request counts.
type newRequestGrade int

const (
	gradeIgnored newRequestGrade = iota // after the app exited, or cut by the exit itself
	gradePass
	gradeWarn
	gradeFail
)

// gradeNewRequest classifies a request started after SIGTERM. It returns the
// outcome as judged (a reset as the listener closes counts as refused, a
// reset after a long wait as hung) and its grade.
func (o *observation) gradeNewRequest(a attempt) (Outcome, newRequestGrade) {
	if !a.start.Before(o.appExitAt) {
		// After the exit every app refuses; that counts only against an
		// app that exited without draining, cutting its in-flight requests.
		if a.outcome == Refused && o.exitCutInFlight() {
			return Refused, gradeWarn
		}
		return a.outcome, gradeIgnored
	}
	out := a.outcome
	if !a.connected && (out == Hung || out == Failed) {
		// Not even connected within the bound: the check's own machine
		// was too busy to say anything about the app.
		return out, gradeIgnored
	}
	atExit := !a.end.Before(o.appExitAt.Add(-20*time.Millisecond)) || (o.killed() && !a.end.Before(o.killedAt))
	if out == Reset || out == Failed {
		switch {
		case a.end.Sub(a.start) >= o.hang:
			out = Hung
		case atExit:
			return out, gradeIgnored
		case o.nearListenerClose(a.end) || (a.status == 0 && !a.end.Before(o.firstInFlightEnd().Add(-refusalMargin))):
			// A connection still waiting in the accept queue when the
			// listener closes is reset: the same event as a refusal. Once
			// the in-flight requests are done, closing the listener is the
			// exit itself; seeing it a little late on a busy machine must
			// not turn its reset into a fault.
			out = Refused
		}
	}
	switch out {
	case Served, Draining503:
		return out, gradePass
	case Plain503:
		return out, gradeWarn
	case Refused:
		// Closing the listener once idle, just before exiting, is what
		// every server does; refusing while requests are still running is
		// not. The margin allows for completions being seen late on a busy
		// machine (the client reads them after the server has sent them).
		if a.start.Before(o.firstInFlightEnd().Add(-refusalMargin)) {
			return out, gradeWarn
		}
		return out, gradeIgnored
	}
	return out, gradeFail
}

// listenerGoneAt is the earliest evidence that the listener was closed:
// the listener watch, or the first refused connection (the watch reads
// /proc/net/tcp, which can lag on a busy machine).
func (o *observation) listenerGoneAt() time.Time {
	first := o.listenerClosedAt
	earlier := func(t time.Time) {
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	for _, a := range o.newReqs {
		if a.outcome == Refused {
			earlier(a.end)
			break
		}
	}
	for _, s := range o.readiness {
		if s.state == "refused" && !s.start.Before(o.sigAt) {
			earlier(s.end)
			break
		}
	}
	return first
}

// nearListenerClose reports whether t is within 100 ms of the listener
// closing.
func (o *observation) nearListenerClose(t time.Time) bool {
	gone := o.listenerGoneAt()
	return !gone.IsZero() && absDuration(t.Sub(gone)) <= 100*time.Millisecond
}

// refusalMargin: a refusal counts against the app only when it came this
// long before the first in-flight request was seen to complete.
const refusalMargin = 250 * time.Millisecond

// firstInFlightEnd is when the first in-flight request ended (SIGTERM if
// none was in flight).
func (o *observation) firstInFlightEnd() time.Time {
	first := time.Time{}
	for _, a := range o.inflight {
		if first.IsZero() || a.end.Before(first) {
			first = a.end
		}
	}
	if first.IsZero() {
		return o.sigAt
	}
	return first
}

// exitCutInFlight reports whether the app exited by itself while requests
// were in flight, cutting them.
func (o *observation) exitCutInFlight() bool {
	if o.killed() {
		return false
	}
	for _, a := range o.inflight {
		if a.outcome != Served {
			return true
		}
	}
	return false
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func (o *observation) newRequestsVerdict() Verdict {
	v := Verdict{Property: NewRequestsAnswered}
	counts := map[string]int{}
	var worst newRequestGrade
	var worstOut Outcome
	var worstAttempt attempt
	graded, ignored := 0, 0
	for _, a := range o.newReqs {
		out, g := o.gradeNewRequest(a)
		if g == gradeIgnored {
			ignored++
			continue
		}
		graded++
		counts[out.describe(a.status)]++
		if g > worst {
			worst, worstOut, worstAttempt = g, out, a
		}
	}
	if graded == 0 {
		v.Status = Warn
		v.Detail = fmt.Sprintf("the app was gone at %s, before any new request got an answer; new connections are refused from then on",
			o.at(o.appExitAt))
		v.Fix = drainFix
		return v
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return counts[keys[i]] > counts[keys[j]] || counts[keys[i]] == counts[keys[j]] && keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s (%d)", k, counts[k])
	}
	v.Detail = fmt.Sprintf("%d new requests while draining: %s", graded, strings.Join(parts, ", "))
	if ignored > 0 {
		v.Detail += fmt.Sprintf(" (%d more at or after the exit not counted)", ignored)
	}
	switch worst {
	case gradePass:
		v.Status = Pass
		return v
	case gradeWarn:
		v.Status = Warn
	default:
		v.Status = Fail
	}
	v.Detail += fmt.Sprintf("; first %s at %s", worstOut.describe(worstAttempt.status), o.at(worstAttempt.start))
	switch worstOut {
	case Plain503:
		v.Fix = "add Connection: close to the 503 so that a router drops the connection instead of reusing it"
	case Refused:
		v.Fix = "refused is fine only when the platform stops routing first: keep the listener open and answer 503 with Connection: close while draining"
	case OtherStatus:
		v.Fix = fmt.Sprintf("answer 503 with Connection: close (not %d) while draining; a Starlette middleware must return a Response(status_code=503), "+
			"not raise HTTPException, which becomes a 500", worstAttempt.status)
	case Hung:
		v.Fix = "every request that reaches a draining app needs an answer: answer 503 with Connection: close, or close the listener"
	default:
		v.Fix = "do not drop connections that carry a request: answer 503 with Connection: close while draining"
	}
	return v
}

// reacted reports whether the server showed, before any SIGKILL, that it
// got SIGTERM: readiness answered not-ready, a new request got a 503 or
// another error status, the listener closed, or a server process exited.
func (o *observation) reacted() bool { return !o.reactionAt().IsZero() }

func (o *observation) reactionAt() time.Time {
	var first time.Time
	consider := func(t time.Time) {
		if t.IsZero() || t.Before(o.sigAt) || (o.killed() && !t.Before(o.killedAt)) {
			return
		}
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	for _, s := range o.readinessAfterSigterm() {
		if s.notReadyAnswer() {
			consider(s.end)
			break
		}
	}
	for _, a := range o.newReqs {
		if a.status != 0 && (a.status < 200 || a.status >= 300) {
			consider(a.end)
			break
		}
	}
	consider(o.listenerClosedAt)
	for _, t := range o.holderExitAt {
		consider(t)
	}
	return first
}

func (o *observation) exitPromptVerdict() Verdict {
	v := Verdict{Property: ExitsPromptly}
	idle := o.idleAt()
	if o.killed() {
		v.Status = Fail
		v.Detail = fmt.Sprintf("still running at the grace deadline (%s), %d ms after its last in-flight request ended: killed with SIGKILL",
			o.at(o.killedAt), o.killedAt.Sub(idle).Milliseconds())
		switch {
		case !o.leaderHolds() && len(o.holders) > 0 && !o.reacted():
			v.Fix = "SIGTERM never reached the server (see " + string(SigtermReaches) + ")"
		case o.holderIgnoresTERM:
			v.Fix = "the server ignores SIGTERM (SIG_IGN): handle it, drain, then exit"
		case !o.reacted():
			v.Fix = "the app did nothing on SIGTERM: handle it, drain, then exit"
		default:
			v.Fix = "exit as soon as the in-flight requests are done instead of waiting out a fixed timeout"
		}
		return v
	}
	linger := max(0, o.appExitAt.Sub(idle))
	limit := max(time.Second, o.grace/2)
	v.Detail = fmt.Sprintf("exited at %s, %d ms after its last in-flight request ended (grace period %v)",
		o.at(o.appExitAt), linger.Milliseconds(), o.grace)
	if linger > limit {
		v.Status = Warn
		v.Fix = "exit as soon as the in-flight requests are done instead of waiting out a fixed timeout"
		return v
	}
	v.Status = Pass
	return v
}

func (o *observation) exitCodeVerdict() Verdict {
	v := Verdict{Property: ExitCode}
	switch {
	case o.killed() && !o.leaderExitAt.Before(o.killedAt):
		v.Status = Fail
		v.Detail = fmt.Sprintf("%s was killed with SIGKILL (%d)", o.leader, o.exitCode)
		v.Fix = "exit by itself within the grace period, with 0 after a clean drain"
	case o.exitCode == 0:
		v.Status, v.Detail = Pass, fmt.Sprintf("%s exited with 0", o.leader)
	case o.exitCode == 143:
		v.Status, v.Detail = Pass, fmt.Sprintf("%s ended by SIGTERM (143)", o.leader)
	default:
		v.Status = Fail
		v.Detail = fmt.Sprintf("%s exited with %d", o.leader, o.exitCode)
		v.Fix = "exit with 0 after a clean drain: any other status reads as a crash"
	}
	return v
}

func (o *observation) reachesVerdict() Verdict {
	v := Verdict{Property: SigtermReaches}
	switch {
	case len(o.holders) == 0:
		if o.reacted() {
			v.Status = Pass
			v.Detail = fmt.Sprintf("SIGTERM went to %s and the app reacted at %s", o.leader, o.at(o.reactionAt()))
			return v
		}
		v.Status = Warn
		v.Detail = fmt.Sprintf("no process of group %d was found listening on port %d, and nothing changed after SIGTERM", o.leader.PID, o.port)
		v.Fix = "make sure the process that gets SIGTERM is the server (exec it, or use ebb run)"
		return v
	case o.leaderHolds():
		v.Status = Pass
		v.Detail = fmt.Sprintf("SIGTERM went to %s, which holds the listener", o.leader)
		if o.holderIgnoresTERM {
			v.Detail += " (and ignores it)"
		}
		return v
	case o.reacted():
		v.Status = Pass
		v.Detail = fmt.Sprintf("SIGTERM went to %s; %s reacted at %s, so it was passed on",
			o.leader, o.serverName(), o.at(o.reactionAt()))
		return v
	}
	v.Status = Fail
	v.Detail = fmt.Sprintf("SIGTERM went to %s, not to %s that holds port %d", o.leader, o.serverName(), o.port)
	if o.leaderExitAt.Before(o.appExitAt) && (!o.killed() || o.leaderExitAt.Before(o.killedAt)) {
		v.Detail += fmt.Sprintf("; %s exited at %s and left the server running as if nothing happened", o.leader.Comm, o.at(o.leaderExitAt))
	} else {
		v.Detail += "; the server went on as if nothing happened"
	}
	switch {
	case isShell(o.leader.Comm):
		v.Fix = "the shell does not pass SIGTERM on: start the server with exec (sh -c '...; exec server'), " +
			"use the exec (JSON array) form of the command, or run it under ebb run"
	case o.leader.Comm == "go":
		v.Fix = "go run does not pass SIGTERM on: build the binary and run it directly (or under ebb run)"
	default:
		v.Fix = fmt.Sprintf("%s does not pass SIGTERM on to the server: run the server directly (exec), or under ebb run", o.leader.Comm)
	}
	return v
}

func (o *observation) leftoversVerdict() Verdict {
	v := Verdict{Property: NoLeftovers}
	if len(o.leftovers) == 0 {
		v.Status = Pass
		v.Detail = fmt.Sprintf("no process of group %d outlived %s", o.leader.PID, o.leader)
		return v
	}
	names := make([]string, len(o.leftovers))
	for i, p := range o.leftovers {
		names[i] = p.String()
	}
	v.Status = Fail
	v.Detail = fmt.Sprintf("%s outlived %s (exited at %s)", strings.Join(names, ", "), o.leader, o.at(o.leaderExitAt))
	if o.killed() {
		v.Detail += fmt.Sprintf(" until the SIGKILL at %s", o.at(o.killedAt))
	} else {
		v.Detail += fmt.Sprintf(" until %s", o.at(o.appExitAt))
	}
	v.Fix = "make the process that gets SIGTERM the server itself (exec), or have it wait for its children: " +
		"leftovers are killed abruptly when the container stops"
	return v
}
