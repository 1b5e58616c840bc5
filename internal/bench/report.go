package bench

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// sectionTitle is the heading of the section of docs/benchmarks.md that the
// benchmark owns.
const sectionTitle = "## Proxy overhead"

// Targets of issue 4, checked in the report.
const (
	targetThroughput = 0.8  // × nginx at 32 connections
	targetAddedP50   = 1.5  // × nginx's added p50 at 1 connection
	targetRSS        = 20e6 // bytes
)

// report renders the results of one run.
type report struct {
	Machine string
	Load    string
	Conns   int
	Dur     time.Duration
	Rounds  int
	Pinning string
	Results []*result
}

func (r report) find(pred func(*target) bool) []*result {
	var out []*result
	for _, res := range r.Results {
		if pred(res.target) {
			out = append(out, res)
		}
	}
	return out
}

// markdown renders the section: the machine, a table, and the ratios
// against the targets.
func (r report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", sectionTitle)
	fmt.Fprintf(&b, "Written by `make bench` (`go run ./internal/bench/cmd/ebb-bench`) on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Machine: %s.\n\n", r.Machine)
	fmt.Fprintf(&b, "Method: one backend process (a minimal Go `net/http` server answering a 14-byte body), "+
		"reached directly, through ebb and through nginx, all measured in the same run with %s; "+
		"`ebb run` is the binary `make build` makes and its shim build the one `make build-shim` makes "+
		"(both `CGO_ENABLED=0 go build -trimpath`): "+
		"throughput with %d connections, latency with 1 connection; each measurement %v, "+
		"%d rounds interleaved across targets, best round kept. CPU pinning: %s. "+
		"nginx proxies with `upstream { keepalive 64; }`, `proxy_http_version 1.1`, `proxy_set_header Connection \"\"`, "+
		"no access log, and does the same per-request work as ebb (X-Forwarded-For/-Proto/-Host, an `X-Request-Id` "+
		"sent upstream and returned); it is measured with 1 and with 2 worker processes and the better of the two "+
		"is the baseline, so the comparison is never against a handicapped nginx. "+
		"Proxy CPU/req is the CPU time (user + system, from /proc) of the proxy's process group divided by the "+
		"requests it served in the throughput measurement; on the direct row it is the backend's, i.e. what Go's "+
		"`net/http` server alone costs per request. It depends less than req/s on what else runs on the machine.\n\n",
		r.Load, r.Conns, r.Dur, r.Rounds, r.Pinning)

	direct := r.find(func(t *target) bool { return t.name == "direct" })
	nginxs := r.find(func(t *target) bool { return t.nginx })
	var bestNginx, bestNginxLat *result
	for _, n := range nginxs {
		if bestNginx == nil || n.throughput.RPS > bestNginx.throughput.RPS {
			bestNginx = n
		}
		if bestNginxLat == nil || n.latency.P50 < bestNginxLat.latency.P50 {
			bestNginxLat = n
		}
	}
	var d *result
	if len(direct) > 0 {
		d = direct[0]
	}

	fmt.Fprintf(&b, "| path | req/s @%d conns | × direct | × nginx | p50 @1 conn | p99 @1 conn | added p50 | proxy CPU/req | proxy RSS (peak) |\n", r.Conns)
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, res := range r.Results {
		t := res.target
		xDirect, xNginx, added := "", "", ""
		if d != nil && res != d {
			xDirect = ratio(res.throughput.RPS / d.throughput.RPS)
			added = fmtDur(res.latency.P50 - d.latency.P50)
		}
		if bestNginx != nil && !t.nginx && res != d {
			xNginx = ratio(res.throughput.RPS / bestNginx.throughput.RPS)
		}
		rss := ""
		if t.rss.RSS > 0 {
			rss = fmt.Sprintf("%.1f MB (%.1f MB)", float64(t.rss.RSS)/1e6, float64(max(t.rss.HWM, t.rss.RSS))/1e6)
			if t.rss.Anon > 0 {
				rss += fmt.Sprintf("; %.1f MB anon + %.1f MB file", float64(t.rss.Anon)/1e6, float64(t.rss.File)/1e6)
			}
		}
		cpu := ""
		if res.cpu > 0 {
			cpu = fmtCPU(res.cpu)
			if res == d {
				cpu += " (backend)"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", t.name,
			strconv.FormatFloat(res.throughput.RPS, 'f', 0, 64), xDirect, xNginx,
			fmtDur(res.latency.P50), fmtDur(res.latency.P99), added, cpu, rss)
	}
	b.WriteString("\n")

	ebbs := r.find(func(t *target) bool { return t.name != "direct" && !t.nginx && !t.extra })
	if len(ebbs) == 1 && bestNginx != nil && d != nil {
		e := ebbs[0]
		thr := e.throughput.RPS / bestNginx.throughput.RPS
		addedE := e.latency.P50 - d.latency.P50
		addedN := bestNginxLat.latency.P50 - d.latency.P50
		b.WriteString("Against the targets of issue 4:\n\n")
		fmt.Fprintf(&b, "- throughput: %s = %s × nginx (%s) — target ≥ %.1f: %s\n",
			e.target.name, ratio(thr), bestNginx.target.name, targetThroughput, verdict(thr >= targetThroughput))
		if addedN > 0 {
			lat := float64(addedE) / float64(addedN)
			fmt.Fprintf(&b, "- added p50 latency at 1 connection: %s vs nginx's %s (%s) = %s × — target ≤ %.1f: %s\n",
				fmtDur(addedE), fmtDur(addedN), bestNginxLat.target.name, ratio(lat), targetAddedP50, verdict(lat <= targetAddedP50))
		} else {
			fmt.Fprintf(&b, "- added p50 latency at 1 connection: %s vs nginx's %s (not measurable as a ratio)\n",
				fmtDur(addedE), fmtDur(addedN))
		}
		peak := max(e.target.rss.RSS, e.target.rss.HWM)
		fmt.Fprintf(&b, "- resident memory of the proxy under load: %.1f MB peak — target ≤ %.0f MB: %s",
			float64(peak)/1e6, targetRSS/1e6, verdict(float64(peak) <= targetRSS))
		if e.target.rss.Anon > 0 {
			fmt.Fprintf(&b, " (at the sampled peak: %.1f MB private, %.1f MB pages of the executable and other mapped files)",
				float64(e.target.rss.Anon)/1e6, float64(e.target.rss.File)/1e6)
		}
		b.WriteString("\n")
		for _, l := range r.find(func(t *target) bool { return t.shimBuild }) {
			peak := max(l.target.rss.RSS, l.target.rss.HWM)
			fmt.Fprintf(&b, "- resident memory of the shim build (`make build-shim`, what container images run) under load: "+
				"%.1f MB peak — target ≤ %.0f MB: %s; its throughput %s × nginx\n",
				float64(peak)/1e6, targetRSS/1e6, verdict(float64(peak) <= targetRSS), ratio(l.throughput.RPS/bestNginx.throughput.RPS))
		}
		fmt.Fprintf(&b, "- %s vs direct: %s × the throughput\n", e.target.name, ratio(e.throughput.RPS/d.throughput.RPS))
		if e.cpu > 0 {
			for _, n := range nginxs {
				if n.cpu > 0 {
					fmt.Fprintf(&b, "- CPU per proxied request: %s %s vs %s %s = %s ×\n",
						e.target.name, fmtCPU(e.cpu), n.target.name, fmtCPU(n.cpu), ratio(float64(e.cpu)/float64(n.cpu)))
				}
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func ratio(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

// describeMachine names the CPU count and model, the kernel and Go.
func describeMachine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = fmt.Sprintf("; load average %s/%s/%s when the run started (other work shares the machine)", f[0], f[1], f[2])
		}
	}
	return fmt.Sprintf("%d CPUs (nproc), %s%s, %s%s", runtime.NumCPU(), model, kernel, goVersion(), load)
}
