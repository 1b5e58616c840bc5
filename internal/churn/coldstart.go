package churn

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"time"

	"github.com/ebb-run/ebb/internal/platform"
)

// ColdStart is one request to an app scaled to zero.
type ColdStart struct {
	// Total is the time from sending the request to its first response
	// byte.
	Total time.Duration
	// Overhead is the time from the app binding its listener (when it can
	// answer its readiness check) to the response's first byte.
	Overhead time.Duration
	// Detect is the part of Overhead until the platform marked the
	// replica ready (seen by polling its status every millisecond);
	// Handoff the rest, until the first byte. Split is false when the
	// poll did not see the replica ready before the response came.
	Detect, Handoff time.Duration
	Split           bool
}

// waitZero waits until the app runs no replica at all.
func waitZero(ctx context.Context, app *platform.App, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		st := app.Status()
		n := 0
		for _, v := range st.Revisions {
			n += len(v.Replicas)
		}
		if st.Desired == 0 && n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("scale to zero: still %d replicas (desired %d) after %s", n, st.Desired, limit)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("scale to zero: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// coldStart sends one POST /hello to an app with no replica and measures
// it against the listening time of the replica that served it.
func coldStart(ctx context.Context, c *http.Client, app *platform.App, base string) (ColdStart, error) {
	var cs ColdStart
	var first time.Time
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, base+"/hello", strings.NewReader(`{}`))
	if err != nil {
		return cs, fmt.Errorf("cold start: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	sent := time.Now()
	readyc := make(chan time.Time, 1)
	stopWatch := make(chan struct{})
	go watchReady(app, readyc, stopWatch)
	resp, err := c.Do(req)
	close(stopWatch)
	ready := <-readyc
	if err != nil {
		return cs, fmt.Errorf("cold start: POST /hello: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Hello Cerebrium!") {
		return cs, fmt.Errorf("cold start: POST /hello: %d %q %v", resp.StatusCode, body, err)
	}
	var port int
	for _, v := range app.Status().Revisions {
		for _, r := range v.Replicas {
			if r.State == platform.Ready {
				port = r.Port
			}
		}
	}
	if port == 0 {
		return cs, fmt.Errorf("cold start: no ready replica after the request was served")
	}
	listen, err := listeningAt(ctx, c, port)
	if err != nil {
		return cs, fmt.Errorf("cold start: %w", err)
	}
	cs.Total = first.Sub(sent)
	cs.Overhead = first.Sub(listen)
	if !ready.IsZero() {
		cs.Detect = ready.Sub(listen)
		cs.Handoff = first.Sub(ready)
		cs.Split = true
	}
	return cs, nil
}

// watchReady polls the app's status every millisecond and sends the time
// it first sees a ready replica (or the zero time once stopped).
func watchReady(app *platform.App, readyc chan<- time.Time, stop <-chan struct{}) {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		now := time.Now()
		for _, v := range app.Status().Revisions {
			for _, r := range v.Replicas {
				if r.State == platform.Ready {
					readyc <- now
					return
				}
			}
		}
		select {
		case <-stop:
			readyc <- time.Time{}
			return
		case <-t.C:
		}
	}
}
