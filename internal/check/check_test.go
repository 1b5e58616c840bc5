package check

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-run/ebb/internal/testapps"
)

// statuses is the verdict per property, for comparison.
func statuses(r *Report) map[Property]Status {
	out := map[Property]Status{}
	for _, v := range r.Verdicts {
		out[v.Property] = v.Status
	}
	return out
}

// allPass expects PASS on every property except those in over.
func expect(over map[Property]Status) map[Property]Status {
	out := map[Property]Status{}
	for _, p := range Properties {
		out[p] = Pass
	}
	for p, s := range over {
		out[p] = s
	}
	return out
}

// TestFixtures runs every fixture app with a known fault through a check
// and asserts the verdicts.
func TestFixtures(t *testing.T) {
	slow := "/slow?seconds=1"
	tests := []struct {
		name  string
		opts  func(t *testing.T) Options
		want  map[Property]Status
		check func(t *testing.T, r *Report)
	}{{
		name: "good: drains by the book",
		opts: func(t *testing.T) Options {
			return Options{Argv: []string{fixtureBin(t, "good")}, ReadyPath: "/ready", SlowPath: slow}
		},
		want: expect(nil),
	}, {
		name: "hello: the graceful example",
		opts: func(t *testing.T) Options {
			return Options{Argv: []string{fixtureBin(t, "hello")}, Method: "POST", Path: "/hello",
				ReadyPath: "/ready", SlowPath: slow}
		},
		want: expect(nil),
	}, {
		name: "sh -c with exec",
		opts: func(t *testing.T) Options {
			return Options{Argv: []string{"sh", "-c", "cd / && exec " + fixtureBin(t, "good")}, ReadyPath: "/ready", SlowPath: slow}
		},
		want: expect(nil),
	}, {
		// Some shells exec a lone command by themselves, others (dash
		// 0.5.12) fork it and swallow SIGTERM: either way the check must say
		// which happened.
		name: "sh -c with one command",
		opts: func(t *testing.T) Options {
			return Options{Argv: []string{"sh", "-c", fixtureBin(t, "good")}, ReadyPath: "/ready", SlowPath: slow}
		},
		check: func(t *testing.T, r *Report) {
			want := expect(nil)
			if r.Leader.Comm == "sh" {
				want = expect(map[Property]Status{ReadinessFlips: Fail, ExitsPromptly: Fail, SigtermReaches: Fail, NoLeftovers: Fail})
				checkSwallowed("sh")(t, r)
			} else if r.Leader.Comm != "good" {
				t.Errorf("leader = %v, want sh or good", r.Leader)
			}
			if diff := cmp.Diff(want, statuses(r)); diff != "" {
				t.Errorf("leader %v: verdicts (-want +got):\n%s", r.Leader, diff)
			}
		},
	}, {
		name: "good, but lingers after the drain",
		opts: func(t *testing.T) Options {
			return Options{Argv: []string{fixtureBin(t, "good")}, Env: []string{"GOOD_LINGER=2s"},
				ReadyPath: "/ready", SlowPath: "/slow?seconds=0.5"}
		},
		want: expect(map[Property]Status{ExitsPromptly: Warn}),
	}, {
		name: "good, but new requests hang while draining",
		opts: func(t *testing.T) Options {
			// Shutdown waits for the hung handlers until their clients give
			// up (1 s): a longer grace period keeps that from counting as
			// lingering.
			return Options{Argv: []string{fixtureBin(t, "good")}, Env: []string{"GOOD_DRAIN=hang"}, ReadyPath: "/ready", SlowPath: slow,
				Grace: 6 * time.Second}
		},
		want:  expect(map[Property]Status{NewRequestsAnswered: Fail}),
		check: wantWorstNew(Hung),
	}, {
		name: "good, but answers 500 while draining",
		opts: func(t *testing.T) Options {
			return Options{Argv: []string{fixtureBin(t, "good")}, Env: []string{"GOOD_DRAIN=500"}, ReadyPath: "/ready", SlowPath: slow}
		},
		want:  expect(map[Property]Status{NewRequestsAnswered: Fail}),
		check: wantWorstNew(OtherStatus),
	}, {
		name: "good, but its 503 keeps the connection open",
		opts: func(t *testing.T) Options {
			return Options{Argv: []string{fixtureBin(t, "good")}, Env: []string{"GOOD_DRAIN=503-keep-alive"}, ReadyPath: "/ready", SlowPath: slow}
		},
		want:  expect(map[Property]Status{NewRequestsAnswered: Warn}),
		check: wantWorstNew(Plain503),
	}, {
		name: "plain: no SIGTERM handling",
		opts: func(t *testing.T) Options {
			return Options{Argv: []string{fixtureBin(t, "plain")}, ReadyPath: "/ready", SlowPath: slow}
		},
		want: expect(map[Property]Status{InFlightComplete: Fail, ReadinessFlips: Fail, NewRequestsAnswered: Warn}),
		check: func(t *testing.T, r *Report) {
			if r.Exit.Code != 143 || r.Exit.Killed {
				t.Errorf("exit = %+v, want code 143 without SIGKILL", r.Exit)
			}
		},
	}, {
		name: "plain with concurrent clients instead of a slow path",
		opts: func(t *testing.T) Options {
			return Options{Argv: []string{fixtureBin(t, "plain")}, ReadyPath: "/ready", Path: "/slow?seconds=0.25", InFlight: 4}
		},
		want: expect(map[Property]Status{InFlightComplete: Fail, ReadinessFlips: Fail, NewRequestsAnswered: Warn}),
	}, {
		name: "ignore: ignores SIGTERM",
		opts: func(t *testing.T) Options {
			return Options{Argv: []string{fixtureBin(t, "ignore")}, ReadyPath: "/ready", SlowPath: slow}
		},
		want: expect(map[Property]Status{ReadinessFlips: Fail, ExitsPromptly: Fail, ExitCode: Fail}),
		check: func(t *testing.T, r *Report) {
			if !r.Exit.Killed || r.Exit.Code != 137 {
				t.Errorf("exit = %+v, want killed with 137", r.Exit)
			}
			if v, _ := r.Verdict(ExitsPromptly); v.Fix != "the server ignores SIGTERM (SIG_IGN): handle it, drain, then exit" {
				t.Errorf("exit fix = %q, want the SIG_IGN one", v.Fix)
			}
		},
	}, {
		name: "sh -c compound: dash swallows SIGTERM",
		opts: func(t *testing.T) Options {
			return Options{Argv: []string{"sh", "-c", fixtureBin(t, "good") + "; echo done"}, ReadyPath: "/ready", SlowPath: slow}
		},
		want:  expect(map[Property]Status{ReadinessFlips: Fail, ExitsPromptly: Fail, SigtermReaches: Fail, NoLeftovers: Fail}),
		check: checkSwallowed("sh"),
	}, {
		name: "bash -c compound: bash swallows SIGTERM",
		opts: func(t *testing.T) Options {
			return Options{Argv: []string{"bash", "-c", fixtureBin(t, "good") + "; echo done"}, ReadyPath: "/ready", SlowPath: slow}
		},
		want:  expect(map[Property]Status{ReadinessFlips: Fail, ExitsPromptly: Fail, SigtermReaches: Fail, NoLeftovers: Fail}),
		check: checkSwallowed("bash"),
	}, {
		name: "sh -c with a trap that passes SIGTERM on",
		opts: func(t *testing.T) Options {
			script := `trap 'kill -TERM $pid' TERM; ` + fixtureBin(t, "good") + ` & pid=$!; wait $pid; wait $pid`
			return Options{Argv: []string{"sh", "-c", script}, ReadyPath: "/ready", SlowPath: slow}
		},
		want: expect(nil),
		check: func(t *testing.T, r *Report) {
			v, _ := r.Verdict(SigtermReaches)
			if r.Leader.Comm != "sh" || !strings.Contains(v.Detail, "so it was passed on") {
				t.Errorf("leader %v, %q; want sh passing SIGTERM on", r.Leader, v.Detail)
			}
		},
	}, {
		name: "closer: closes its listener, finishes in-flight requests",
		opts: func(t *testing.T) Options {
			return Options{Argv: []string{fixtureBin(t, "closer")}, ReadyPath: "/ready", SlowPath: slow}
		},
		want: expect(map[Property]Status{ReadinessFlips: Warn, NewRequestsAnswered: Warn}),
	}, {
		name: "good with only a TCP readiness check",
		opts: func(t *testing.T) Options {
			return Options{Argv: []string{fixtureBin(t, "good")}, SlowPath: slow}
		},
		want: expect(map[Property]Status{ReadinessFlips: Warn}),
	}, {
		name: "fastapi: the seed's pattern on uvicorn",
		opts: func(t *testing.T) Options {
			if _, err := os.Stat(testapps.DebianPython); err != nil {
				t.Skip("no " + testapps.DebianPython)
			}
			if err := exec.Command(testapps.DebianPython, "-c", "import fastapi, uvicorn").Run(); err != nil {
				t.Skip("python3-fastapi/python3-uvicorn not installed")
			}
			return Options{Argv: []string{testapps.DebianPython, "-m", "uvicorn", "seed:app", "--host", "127.0.0.1", "--port", "$PORT"},
				Dir: testapps.PythonDir(), Method: "POST", Path: "/hello", ReadyPath: "/ready", SlowPath: slow,
				// uvicorn takes a while to exit once idle on a busy machine.
				Grace: 5 * time.Second}
		},
		want: expect(map[Property]Status{ReadinessFlips: Warn, NewRequestsAnswered: Warn}),
	}, {
		name: "hello under ebb run",
		opts: func(t *testing.T) Options {
			ebb := fixtureBin(t, "ebb")
			if out, _ := exec.Command(ebb, "run", "--help").CombinedOutput(); bytes.Contains(out, []byte("not implemented")) {
				t.Skip("ebb run is not implemented yet")
			}
			return Options{Argv: []string{ebb, "run", "--listen", "127.0.0.1:$PORT", "--admin", "", "--", fixtureBin(t, "hello")},
				Method: "POST", Path: "/hello", ReadyPath: "/ready", SlowPath: slow}
		},
		want: expect(nil),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := tt.opts(t)
			r := runCheck(t, o)
			if tt.want == nil {
				// tt.check judges the verdicts.
			} else if diff := cmp.Diff(tt.want, statuses(r)); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
			if r.OK != (r.Worst() != Fail) {
				t.Errorf("OK = %v with worst verdict %s", r.OK, r.Worst())
			}
			for _, v := range r.Verdicts {
				if (v.Status == Pass) != (v.Fix == "") {
					t.Errorf("%s %s: fix %q; want a fix exactly when it does not pass", v.Property, v.Status, v.Fix)
				}
			}
			if tt.check != nil {
				tt.check(t, r)
			}
			if left := groupProcs(r.Leader.PID); len(left) > 0 {
				t.Errorf("processes of the app left after the check: %v", left)
			}
		})
	}
}

// checkSwallowed checks the report of a shell that swallowed SIGTERM.
func checkSwallowed(shell string) func(t *testing.T, r *Report) {
	return func(t *testing.T, r *Report) {
		if r.Leader.Comm != shell {
			t.Errorf("leader = %v, want %s", r.Leader, shell)
		}
		if len(r.Server) != 1 || r.Server[0].Comm != "good" {
			t.Errorf("server = %v, want the good fixture", r.Server)
		}
		if len(r.Exit.Leftovers) != 1 || r.Exit.Leftovers[0].Comm != "good" {
			t.Errorf("leftovers = %v, want the good fixture", r.Exit.Leftovers)
		}
		v, _ := r.Verdict(SigtermReaches)
		if want := "the shell does not pass SIGTERM on"; !bytes.Contains([]byte(v.Fix), []byte(want)) {
			t.Errorf("fix = %q, want it to say %q", v.Fix, want)
		}
	}
}

// TestJSONReport checks that the JSON report round-trips with its stable
// field names.
func TestJSONReport(t *testing.T) {
	t.Parallel()
	r := runCheck(t, Options{Argv: []string{fixtureBin(t, "good")}, ReadyPath: "/ready", SlowPath: "/slow?seconds=0.5",
		Grace: 2 * time.Second})
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(buf.Bytes(), &generic); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"command", "port", "grace_ms", "ready_path", "leader", "server", "exit", "timeline", "verdicts", "ok", "output"} {
		if _, ok := generic[k]; !ok {
			t.Errorf("JSON report has no %q field:\n%s", k, buf.String())
		}
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, &back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
}

// wantWorstNew checks that the new-requests verdict names outcome as the
// worst seen.
func wantWorstNew(outcome Outcome) func(t *testing.T, r *Report) {
	return func(t *testing.T, r *Report) {
		v, _ := r.Verdict(NewRequestsAnswered)
		if want := "first " + outcome.describe(500); !strings.Contains(v.Detail, want) {
			t.Errorf("new requests: %q, want it to name %q", v.Detail, want)
		}
	}
}
