package check

import (
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"
	"time"
)

// readinessTimeout bounds one readiness observation.
const readinessTimeout = 500 * time.Millisecond

// readinessSample is one readiness observation.
type readinessSample struct {
	start, end time.Time
	// state is the HTTP status ("200", "503"), or for a failed check
	// "refused", "reset", "timeout" or "error"; a TCP check that connects
	// is "accepting".
	state  string
	status int
}

// notReadyAnswer reports whether the sample is an HTTP answer other than 200.
func (s readinessSample) notReadyAnswer() bool { return s.status != 0 && s.status != 200 }

// up reports whether the sample says ready (200, or a TCP connect).
func (s readinessSample) up() bool { return s.status == 200 || s.state == "accepting" }

// readinessObserver checks the readiness endpoint (or the TCP port) every
// interval, each on a new connection, one check at a time.
type readinessObserver struct {
	addr     string
	path     string // "" = TCP
	interval time.Duration
	tl       *timeline

	samples []readinessSample // written by run only; read after run returns
}

// run observes until ctx ends.
func (r *readinessObserver) run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	slowAt := time.Now().Add(fineFor)
	last := ""
	for {
		s := r.check(ctx)
		if ctx.Err() != nil {
			return
		}
		r.samples = append(r.samples, s)
		if s.state != last {
			r.tl.add(s.end, "readiness", r.describe(s))
			last = s.state
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !slowAt.IsZero() && time.Now().After(slowAt) {
			t.Reset(coarseInterval) // a long grace period: no need for ms any more
			slowAt = time.Time{}
		}
	}
}

func (r *readinessObserver) describe(s readinessSample) string {
	target := "GET " + r.path
	if r.path == "" {
		target = "TCP connect"
	}
	switch s.state {
	case "accepting":
		return target + ": accepted"
	case "refused":
		return target + ": connection refused"
	case "reset":
		return target + ": connection reset"
	case "timeout":
		return target + ": no answer within " + readinessTimeout.String()
	case "error":
		return target + ": failed"
	}
	return target + ": " + s.state
}

func (r *readinessObserver) check(ctx context.Context) readinessSample {
	if r.path == "" {
		s := readinessSample{start: time.Now()}
		d := net.Dialer{Timeout: readinessTimeout}
		c, err := d.DialContext(ctx, "tcp", r.addr)
		s.end = time.Now()
		switch {
		case err == nil && c.LocalAddr().String() == c.RemoteAddr().String():
			// A TCP self-connect: nothing listens on the port.
			c.Close()
			s.state = "refused"
		case err == nil:
			c.Close()
			s.state = "accepting"
		case errors.Is(err, syscall.ECONNREFUSED):
			s.state = "refused"
		case isTimeout(err):
			s.state = "timeout"
		default:
			s.state = "error"
		}
		return s
	}
	a := do(ctx, request{method: "GET", url: "http://" + r.addr + r.path}, readinessTimeout, nil)
	s := readinessSample{start: a.start, end: a.end, status: a.status}
	switch {
	case a.status != 0 && (a.outcome != Reset || a.body > 0):
		s.state = strconv.Itoa(a.status)
	case a.outcome == Refused:
		s.state = "refused"
	case a.outcome == Reset:
		s.state, s.status = "reset", 0
	case a.outcome == Hung:
		s.state = "timeout"
	default:
		s.state = "error"
	}
	return s
}
