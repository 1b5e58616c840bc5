package churn

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ebb-run/ebb/internal/benchdoc"
	"github.com/ebb-run/ebb/internal/probe"
)

// SectionTitle is the heading of the section WriteSection owns.
const SectionTitle = "## Autoscaling"

// Figure is one measured quantity over several runs.
type Figure struct {
	Values []time.Duration
}

// Median is the middle value (the mean of the two middle ones).
func (f Figure) Median() time.Duration {
	v := slices.Sorted(slices.Values(f.Values))
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// Max is the largest value.
func (f Figure) Max() time.Duration {
	if len(f.Values) == 0 {
		return 0
	}
	return slices.Max(f.Values)
}

// figures gathers each quantity over the churn run and every cycle.
func (m *Measurement) figures() (scaleOut, toDesired, toStarted, appStart, toReady, coldOverhead, coldTotal, detect, handoff Figure) {
	add := func(s ScaleOut, c ColdStart) {
		scaleOut.Values = append(scaleOut.Values, s.Overhead)
		toDesired.Values = append(toDesired.Values, s.ToDesired)
		toStarted.Values = append(toStarted.Values, s.ToStarted)
		appStart.Values = append(appStart.Values, s.AppStart)
		toReady.Values = append(toReady.Values, s.ToReady)
		coldOverhead.Values = append(coldOverhead.Values, c.Overhead)
		coldTotal.Values = append(coldTotal.Values, c.Total)
		if c.Split {
			detect.Values = append(detect.Values, c.Detect)
			handoff.Values = append(handoff.Values, c.Handoff)
		}
	}
	add(m.Churn.ScaleOut, m.Churn.ColdStart)
	for _, c := range m.Cycles {
		add(c.ScaleOut, c.ColdStart)
	}
	return
}

// verdict compares a figure with a target.
func verdict(got, target time.Duration) string {
	if got < target {
		return "met"
	}
	return fmt.Sprintf("missed by %s", ms(got-target))
}

// Section renders the "## Autoscaling" section of docs/benchmarks.md.
func (m *Measurement) Section(svgName string) string {
	scaleOut, toDesired, toStarted, appStart, toReady, coldOverhead, coldTotal, detect, handoff := m.figures()
	n := len(scaleOut.Values)
	var b strings.Builder
	mc := m.Machine
	fmt.Fprintf(&b, "%s\n\n", SectionTitle)
	fmt.Fprintf(&b, "Measured by `make churn` (`go run ./internal/churn/cmd/ebb-churn`) on %s: %s, %d cores, Linux %s, %s. "+
		"Load average (1, 5, 15 min) %s before and %s after — the machine is shared, so other work ran at the same time.\n\n",
		mc.Date.Format("2006-01-02 15:04 MST"), mc.CPU, mc.Cores, mc.Kernel, mc.GoVersion, mc.LoadBefore, mc.LoadAfter)

	fmt.Fprintf(&b, "| figure (%d runs) | target | median | max | median vs target | max vs target |\n|---|---|---|---|---|---|\n", n)
	fmt.Fprintf(&b, "| scale-out: burst → first new replica ready, less the app's own start | < 1 s | %s | %s | %s | %s |\n",
		ms(scaleOut.Median()), ms(scaleOut.Max()), verdict(scaleOut.Median(), time.Second), verdict(scaleOut.Max(), time.Second))
	fmt.Fprintf(&b, "| cold-start overhead: app listening → first byte of the waking request's response | < 20 ms | %s | %s | %s | %s |\n",
		ms(coldOverhead.Median()), ms(coldOverhead.Max()), verdict(coldOverhead.Median(), 20*time.Millisecond), verdict(coldOverhead.Max(), 20*time.Millisecond))
	fmt.Fprintf(&b, "\nBreakdown (median / max over %d runs each):\n\n", n)
	fmt.Fprintf(&b, "- burst → autoscaler raises the desired count: %s / %s\n", ms(toDesired.Median()), ms(toDesired.Max()))
	fmt.Fprintf(&b, "- burst → first new replica created: %s / %s\n", ms(toStarted.Median()), ms(toStarted.Max()))
	fmt.Fprintf(&b, "- the app's own start (replica created → its listener bound): %s / %s\n", ms(appStart.Median()), ms(appStart.Max()))
	fmt.Fprintf(&b, "- burst → first new replica ready (raw, app start included): %s / %s\n", ms(toReady.Median()), ms(toReady.Max()))
	fmt.Fprintf(&b, "- cold request sent → first response byte (app start included): %s / %s\n", ms(coldTotal.Median()), ms(coldTotal.Max()))
	fmt.Fprintf(&b, "- cold-start overhead, part 1: app listening → platform marks the replica ready (readiness probe): %s / %s (%d runs)\n", ms(detect.Median()), ms(detect.Max()), len(detect.Values))
	fmt.Fprintf(&b, "- cold-start overhead, part 2: replica ready → first response byte (queued request handed over, proxied, answered): %s / %s (%d runs)\n\n", ms(handoff.Median()), ms(handoff.Max()), len(handoff.Values))

	over := 0
	for _, v := range coldOverhead.Values {
		if v >= 20*time.Millisecond {
			over++
		}
	}
	bo := probe.DefaultBackoff
	fmt.Fprintf(&b, "**Reading.** The platform's part of a scale-out (median %s, max %s) is far under the 1 s target; "+
		"most of the time to a ready replica is the app's own start. The maxima depend on the shared machine's load: when it is "+
		"busy (load average above its %d cores), spawning and scheduling processes take longer and the maxima grow. "+
		"Most of the cold-start overhead is the readiness probe noticing that the app listens (part 1): `probe.WaitReady` with "+
		"`probe.DefaultBackoff` probes every %s for the first %s, then at intervals growing %g× up to %s; the "+
		"hello app binds its listener %s (median) after its replica is created, so the probe notices it within %s "+
		"(half that on average) plus the time the probe's own connection and request take. "+
		"Handing the queued request to the new replica and answering it (part 2) takes %s (median). ",
		ms(scaleOut.Median()), ms(scaleOut.Max()), mc.Cores,
		bo.Initial, bo.Steady, bo.Factor, bo.Max, ms(appStart.Median()), bo.Initial, ms(handoff.Median()))
	if over > 0 {
		fmt.Fprintf(&b, "The 20 ms target is exceeded in %d of %d cold starts (the worst by %s): the probe's interval "+
			"bounds its part to %s, so the rest is the machine's load delaying the probe, the app or the hand-over.\n\n",
			over, n, ms(coldOverhead.Max()-20*time.Millisecond), bo.Initial)
	} else {
		fmt.Fprintf(&b, "The 20 ms target is met in every one of the %d cold starts.\n\n", n)
	}

	r := m.Churn
	fmt.Fprintf(&b, "**Churn run.** %d requests sent, **%d failed**; peak of %d replicas; rollout to revision %d and migration of %s → %s during the steady load.\n\n",
		r.Sent, r.Failed, r.Peak(), r.Revision, r.Migrated, r.Replaced)
	fmt.Fprintf(&b, "![Replicas over time during the churn run](%s)\n\n", svgName)
	var phases []string
	for _, p := range r.Phases {
		phases = append(phases, fmt.Sprintf("%s %.1f–%.1f s", p.Name, p.Start.Seconds(), p.End.Seconds()))
	}
	fmt.Fprintf(&b, "Phases: %s.\n\n", strings.Join(phases, "; "))

	s := m.Scaling
	fmt.Fprintf(&b, "**Method.** `ebb-churn` builds `examples/hello` and runs a platform in its own process exactly as `ebb up --autoscale` does "+
		"(local driver, `platform.Autoscale`, default health interval, router and admin API on 127.0.0.1) with one app loaded by `config.Load` "+
		"from this `cerebrium.toml` — the shortest windows the config validator accepts "+
		"(min %d, max %d, replica_concurrency %d, %s target %d %%, evaluation_interval_seconds %d, cooldown %d, response_grace_period %d, roll_out_duration_seconds %d):\n\n",
		s.MinReplicas, s.MaxReplicas, s.ReplicaConcurrency, s.ScalingMetric, s.ScalingTarget, s.EvaluationIntervalSeconds, s.Cooldown, s.ResponseGracePeriod, s.RollOutDurationSeconds)
	fmt.Fprintf(&b, "```toml\n%s```\n\n", redactEntrypoint(m.TOML))
	sc := m.Scenario
	fmt.Fprintf(&b, "The churn run: %s idle at zero replicas; a burst of %d concurrent %g s `GET /slow` requests; steady load "+
		"(closed-loop workers: %d sending `POST /hello`, %d sending %g s `GET /slow`, %d sending %g s `GET /stream`) for %s, then a rollout "+
		"(`App.Deploy` of the same config, stepped over %d s), a migration (`App.Migrate` of a ready replica) and %s more; idle until the "+
		"app is back at zero, %s more at zero; one `POST /hello` (the cold start). The replica count (total, ready, desired) is sampled "+
		"every %s. Then, repeated for the other runs: wait for zero, one `POST /hello` (a cold start), and at once a burst of %d "+
		"concurrent %g s `GET /slow` requests on the one warm replica (a scale-out).\n\n",
		sc.Idle, sc.Burst, sc.BurstSeconds, sc.Load.Hello, sc.Load.Slow, sc.Load.Long, sc.Load.Stream, sc.Load.Long, sc.Steady,
		s.RollOutDurationSeconds, sc.Steady, sc.Idle, cmp.Or(sc.SampleEvery, 100*time.Millisecond), m.CycleBurst, m.CycleBurstSeconds)
	b.WriteString("Scale-out is timed by polling `App.Status` every 2 ms from the burst's first request: the first new replica to appear, " +
		"then the first to be ready (routable). The app's own start is from the replica appearing to the time the hello process bound " +
		"its listener (`listening_at` in its `GET /stats`, asked of the replica directly); the overhead is the rest — the autoscaler's " +
		"reaction, spawning the process and the readiness probe noticing it. Cold-start overhead is from `listening_at` (from then on the " +
		"app can answer `/ready`) to the first response byte seen by the client (`httptrace.GotFirstResponseByte`); it includes the " +
		"readiness probe's detection, the router handing the queued request over, the proxying and the app's answer. " +
		"Every replica is stopped through the termination sequence at the end; " +
		fmt.Sprintf("%d process groups were left behind.\n", m.Leftover))
	return b.String()
}

// redactEntrypoint shows the temporary binary path as hello.
func redactEntrypoint(toml string) string {
	var out []string
	for _, line := range strings.Split(toml, "\n") {
		if strings.HasPrefix(line, "entrypoint = ") {
			line = `entrypoint = ["/tmp/…/hello"]  # examples/hello, built`
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// WriteSection replaces the "## Autoscaling" section of the benchmarks
// document at path with section (see benchdoc.UpdateSection).
func WriteSection(path, section string) error {
	return benchdoc.UpdateSection(path, SectionTitle, section)
}
