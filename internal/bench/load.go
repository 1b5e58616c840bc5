package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loadResult is what one load run measured.
type loadResult struct {
	RPS      float64
	Requests int64
	P50, P99 time.Duration
	Errors   int64 // non-2xx answers and socket errors
}

// loader generates HTTP load against a URL.
type loader interface {
	name() string
	run(ctx context.Context, url string, conns int, d time.Duration, cpus string) (loadResult, error)
}

// newLoader returns wrk when installed, else the built-in Go generator.
func newLoader() loader {
	if path, err := exec.LookPath("wrk"); err == nil {
		return wrkLoader{path: path}
	}
	return goLoader{}
}

// wrkLoader runs wrk, one thread per 16 connections (at most 2).
type wrkLoader struct{ path string }

func (w wrkLoader) name() string { return "wrk" }

func (w wrkLoader) run(ctx context.Context, url string, conns int, d time.Duration, cpus string) (loadResult, error) {
	threads := 1
	if conns >= 16 {
		threads = 2
	}
	argv := []string{w.path, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", fmt.Sprintf("%ds", int(d.Seconds())), "--latency", url}
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return loadResult{}, fmt.Errorf("bench: wrk: %w\n%s", err, out)
	}
	return parseWrk(string(out))
}

var (
	wrkRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkTotal   = regexp.MustCompile(`(\d+) requests in`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSockErr = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk extracts requests/s, p50, p99 and errors from wrk --latency
// output.
func parseWrk(out string) (loadResult, error) {
	var r loadResult
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("bench: no Requests/sec in wrk output:\n%s", out)
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	if m := wrkTotal.FindStringSubmatch(out); m != nil {
		r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	for _, p := range wrkPct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(p[2], 64)
		unit := map[string]float64{"us": 1e3, "ms": 1e6, "s": 1e9}[p[3]]
		d := time.Duration(v * unit)
		if p[1] == "50" {
			r.P50 = d
		} else {
			r.P99 = d
		}
	}
	if r.P50 == 0 || r.P99 == 0 {
		return r, fmt.Errorf("bench: no latency distribution in wrk output:\n%s", out)
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		r.Errors += n
	}
	if m := wrkSockErr.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.Errors += n
		}
	}
	return r, nil
}

// goLoader is a closed-loop load generator: conns goroutines, each with its
// own keep-alive connection, sending GETs back to back.
type goLoader struct{}

func (goLoader) name() string { return "built-in Go load generator" }

func (goLoader) run(ctx context.Context, url string, conns int, d time.Duration, _ string) (loadResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var errs int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			var bad int64
			for ctx.Err() == nil {
				t0 := time.Now()
				resp, err := c.Get(url)
				if err != nil {
					if ctx.Err() == nil {
						bad++
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					bad++
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lat) == 0 {
		return loadResult{}, errors.New("bench: no request completed")
	}
	slices.Sort(lat)
	return loadResult{
		RPS:      float64(len(lat)) / elapsed.Seconds(),
		Requests: int64(len(lat)),
		P50:      lat[len(lat)/2],
		P99:      lat[len(lat)*99/100],
		Errors:   errs,
	}, nil
}

// fmtDur formats a latency in µs or ms.
func fmtDur(d time.Duration) string {
	if d < time.Millisecond {
		return strconv.FormatFloat(float64(d)/1e3, 'f', 0, 64) + " µs"
	}
	return strings.TrimRight(strings.TrimRight(strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64), "0"), ".") + " ms"
}

// fmtCPU formats a CPU time per request in µs.
func fmtCPU(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/1e3, 'f', 1, 64) + " µs"
}
