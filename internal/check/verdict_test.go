package check

import (
	"strings"
	"testing"
	"time"
)

// synthetic builds an observation around a SIGTERM at t0 for rule tests.
func synthetic() (*observation, time.Time) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return ms2t(t0, ms) }
	return &observation{
		sigAt: t0, grace: 10 * time.Second, port: 8000, readyPath: "/ready", hang: time.Second,
		leader: Proc{PID: 10, Comm: "app"}, holders: []Proc{{PID: 10, Comm: "app"}},
		leaderExitAt: at(2100), appExitAt: at(2100),
		inflight: []attempt{{start: at(-500), end: at(2000), outcome: Served, status: 200}},
	}, t0
}

func ms2t(t0 time.Time, ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// sample is a readiness observation at an offset from SIGTERM, in ms.
type sample struct {
	at     int
	state  string
	status int
}

func TestReadinessRules(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		samples []sample
		want    Status
		detail  string
	}{
		{"prompt 503", "/ready", []sample{{0, "200", 200}, {10, "503", 503}}, Pass, "answered 503"},
		{"late 503", "/ready", []sample{{0, "200", 200}, {1500, "503", 503}}, Warn, "more than"},
		{"500 counts as not ready", "/ready", []sample{{10, "500", 500}}, Pass, "answered 500"},
		{"refused while draining", "/ready", []sample{{10, "refused", 0}}, Warn, "refused"},
		{"200 throughout", "/ready", []sample{{0, "200", 200}, {1900, "200", 200}}, Fail, "kept answering 200"},
		{"refused only once idle", "/ready", []sample{{1900, "200", 200}, {2050, "refused", 0}}, Fail, "kept answering 200"},
		{"TCP only", "", []sample{{10, "refused", 0}}, Warn, "only a TCP check"},
		{"TCP accepting long after", "", []sample{{1500, "accepting", 0}}, Fail, "still accepted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, t0 := synthetic()
			o.readyPath = tt.path
			for _, s := range tt.samples {
				o.readiness = append(o.readiness, readinessSample{
					start: ms2t(t0, s.at), end: ms2t(t0, s.at+2), state: s.state, status: s.status})
			}
			v := o.readinessVerdict()
			if v.Status != tt.want || !strings.Contains(v.Detail, tt.detail) {
				t.Errorf("got %s %q, want %s containing %q", v.Status, v.Detail, tt.want, tt.detail)
			}
		})
	}
}

func TestNewRequestRules(t *testing.T) {
	tests := []struct {
		name       string
		outcome    Outcome
		status     int
		start, end int // ms since SIGTERM
		want       newRequestGrade
		out        Outcome
	}{
		{"503 close", Draining503, 503, 10, 12, gradePass, Draining503},
		{"503 keep-alive", Plain503, 503, 10, 12, gradeWarn, Plain503},
		{"500", OtherStatus, 500, 10, 12, gradeFail, OtherStatus},
		{"refused while in flight", Refused, 0, 10, 11, gradeWarn, Refused},
		{"refused once idle", Refused, 0, 2050, 2051, gradeIgnored, Refused},
		{"reset mid-drain", Reset, 0, 10, 15, gradeFail, Reset},
		{"reset after a long wait", Reset, 0, 10, 1500, gradeFail, Hung},
		{"reset at the exit", Reset, 0, 2090, 2095, gradeIgnored, Reset},
		{"reset as the drain ends", Reset, 0, 1900, 1910, gradeIgnored, Refused},
		{"reset with a status as the drain ends", Reset, 200, 1900, 1910, gradeFail, Reset},
		{"after the exit", Refused, 0, 2200, 2201, gradeIgnored, Refused},
		{"hung without a connection", Failed, 0, 10, 2010, gradeIgnored, Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, t0 := synthetic()
			a := attempt{start: ms2t(t0, tt.start), end: ms2t(t0, tt.end), outcome: tt.outcome, status: tt.status,
				connected: tt.outcome != Refused && tt.name != "hung without a connection"}
			out, g := o.gradeNewRequest(a)
			if g != tt.want || out != tt.out {
				t.Errorf("got %s grade %d, want %s grade %d", out, g, tt.out, tt.want)
			}
		})
	}
}

func TestReachesRules(t *testing.T) {
	o, t0 := synthetic()
	o.leader = Proc{PID: 9, Comm: "sh"}
	o.leaderExitAt = ms2t(t0, 2)
	o.killedAt, o.appExitAt = ms2t(t0, 10000), ms2t(t0, 10010)
	o.readiness = []readinessSample{{start: ms2t(t0, 5), end: ms2t(t0, 6), state: "200", status: 200}}
	v := o.reachesVerdict()
	if v.Status != Fail || !strings.Contains(v.Fix, "exec") || !strings.Contains(v.Detail, "sh exited at +2.0 ms") {
		t.Errorf("swallowed: got %s %q / %q", v.Status, v.Detail, v.Fix)
	}
	if v := o.exitPromptVerdict(); v.Status != Fail || !strings.Contains(v.Fix, string(SigtermReaches)) {
		t.Errorf("exit after a swallowed SIGTERM: got %s %q", v.Status, v.Fix)
	}

	o.leader.Comm = "go"
	if v := o.reachesVerdict(); !strings.Contains(v.Fix, "go run") {
		t.Errorf("go run: fix %q", v.Fix)
	}

	// A wrapper that passes it on: the server answers 503.
	o.readiness = append(o.readiness, readinessSample{start: ms2t(t0, 20), end: ms2t(t0, 21), state: "503", status: 503})
	if v := o.reachesVerdict(); v.Status != Pass || !strings.Contains(v.Detail, "passed on") {
		t.Errorf("forwarded: got %s %q", v.Status, v.Detail)
	}
	// A reaction only after the SIGKILL is no reaction.
	o.readiness = o.readiness[:1]
	o.holderExitAt = map[int]time.Time{10: ms2t(t0, 10005)}
	if v := o.reachesVerdict(); v.Status != Fail {
		t.Errorf("exit at SIGKILL counted as a reaction: %s %q", v.Status, v.Detail)
	}
}

func TestExitRules(t *testing.T) {
	o, t0 := synthetic()
	if v := o.exitPromptVerdict(); v.Status != Pass {
		t.Errorf("prompt exit: %s %q", v.Status, v.Detail)
	}
	o.appExitAt, o.leaderExitAt = ms2t(t0, 8000), ms2t(t0, 8000)
	if v := o.exitPromptVerdict(); v.Status != Warn {
		t.Errorf("6 s linger with a 10 s grace period: %s %q", v.Status, v.Detail)
	}
	for code, want := range map[int]Status{0: Pass, 143: Pass, 1: Fail, 2: Fail} {
		o.exitCode = code
		if v := o.exitCodeVerdict(); v.Status != want {
			t.Errorf("exit code %d: %s, want %s", code, v.Status, want)
		}
	}
	o.killedAt, o.exitCode = ms2t(t0, 7000), 137
	if v := o.exitCodeVerdict(); v.Status != Fail || !strings.Contains(v.Detail, "SIGKILL") {
		t.Errorf("killed: %s %q", v.Status, v.Detail)
	}
}
