package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Outcome is how one request ended, as a router would see it.
type Outcome string

// Outcomes of a request.
const (
	// Served: a 2xx status and a complete body.
	Served Outcome = "served"
	// Draining503: 503 with Connection: close, the answer a router can act
	// on (retry elsewhere, drop the connection).
	Draining503 Outcome = "503_close"
	// Plain503: 503 that keeps the connection open.
	Plain503 Outcome = "503"
	// Refused: the connection was refused; nothing was listening.
	Refused Outcome = "refused"
	// Reset: the connection was reset or closed before a complete answer.
	Reset Outcome = "reset"
	// Hung: no answer within the hang bound.
	Hung Outcome = "hung"
	// OtherStatus: any other status (a 500 where a 503 was meant, say).
	OtherStatus Outcome = "status"
	// Failed: any other transport error.
	Failed Outcome = "error"
)

// describe says what an outcome means, for the report.
func (o Outcome) describe(status int) string {
	switch o {
	case Served:
		return fmt.Sprintf("served (%d)", status)
	case Draining503:
		return "503 with Connection: close"
	case Plain503:
		return "503 without Connection: close"
	case Refused:
		return "connection refused"
	case Reset:
		return "connection reset or closed without a complete answer"
	case Hung:
		return "hung (no answer)"
	case OtherStatus:
		return fmt.Sprintf("status %d", status)
	}
	return "failed"
}

// attempt is one request and how it ended.
type attempt struct {
	start   time.Time // when the request began
	wrote   time.Time // when the request was fully written (zero if never)
	end     time.Time // when the outcome was known
	outcome Outcome
	status  int    // HTTP status, 0 if none
	body    int64  // body bytes received
	detail  string // the error, if any
	// connected: a connection was established (false when even the
	// connect did not finish in time, e.g. on a starved machine).
	connected bool
}

// request describes what to send.
type request struct {
	method string
	url    string
	body   string
}

// do sends req on a new connection and classifies the result. A request not
// answered within hang is Hung. The connection is never reused. onWrote, if
// not nil, is called once the request has been written.
func do(ctx context.Context, req request, hang time.Duration, onWrote func()) (a attempt) {
	a.start = time.Now()
	var wrote atomic.Pointer[time.Time]
	var connected atomic.Bool
	defer func() {
		if w := wrote.Load(); w != nil {
			a.wrote = *w
		}
		a.connected = connected.Load()
	}()
	tr := &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, hang)
	defer cancel()
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { connected.Store(true) },
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err != nil {
				return
			}
			now := time.Now()
			wrote.Store(&now)
			if onWrote != nil {
				onWrote()
			}
		},
	})
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, req.url, body)
	if err != nil {
		a.end, a.outcome, a.detail = time.Now(), Failed, err.Error()
		return a
	}
	hr.Header.Set("User-Agent", "ebb-check")
	if req.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Transport: tr}).Do(hr)
	if err != nil {
		a.end = time.Now()
		a.outcome, a.detail = classifyError(err), err.Error()
		return a
	}
	a.status = resp.StatusCode
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	a.end, a.body = time.Now(), n
	if err != nil {
		a.outcome, a.detail = classifyError(err), fmt.Sprintf("status %d, body cut after %d bytes: %v", resp.StatusCode, n, err)
		return a
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		a.outcome = Served
	case resp.StatusCode == http.StatusServiceUnavailable && resp.Close:
		a.outcome = Draining503
	case resp.StatusCode == http.StatusServiceUnavailable:
		a.outcome = Plain503
	default:
		a.outcome = OtherStatus
	}
	return a
}

// classifyError maps a transport error to an outcome.
func classifyError(err error) Outcome {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return Hung
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Reset
	}
	return Failed
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
