package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/coder/websocket"
)

// hello answers POST /hello, as the seed app does.
func hello(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"message": "Hello Cerebrium!"})
}

// slow answers GET /slow?seconds=N after sleeping N seconds. If the request
// is cancelled first (the client left, or the grace period ended) it answers
// 503 naming the cause.
func slow(w http.ResponseWriter, r *http.Request) {
	d, err := secondsParam(r, 1)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	start := time.Now()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		writeJSON(w, http.StatusOK, map[string]any{"slept_seconds": d.Seconds(), "pid": os.Getpid()})
	case <-r.Context().Done():
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{
			"error":         "cancelled",
			"cause":         context.Cause(r.Context()).Error(),
			"slept_seconds": time.Since(start).Seconds(),
		})
	}
}

// stream answers GET /stream?seconds=N with server-sent events: a "tick"
// event each second for N seconds, then a "done" event.
func stream(w http.ResponseWriter, r *http.Request) {
	d, err := secondsParam(r, 5)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	n := int(d / time.Second)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 1; i <= n; i++ {
		select {
		case <-tick.C:
		case <-r.Context().Done():
			return
		}
		if _, err := fmt.Fprintf(w, "event: tick\ndata: {\"n\":%d}\n\n", i); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
	fmt.Fprintf(w, "event: done\ndata: {\"events\":%d}\n\n", n)
}

// echo answers GET /ws: a WebSocket that echoes every message until the
// client closes it or the request is cancelled.
func echo(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered the client
	}
	defer c.CloseNow()
	ctx := r.Context()
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			return // closed by the client, or cancelled
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			return
		}
	}
}

// secondsParam reads the "seconds" query parameter (a non-negative number,
// at most a day).
func secondsParam(r *http.Request, def float64) (time.Duration, error) {
	v := r.URL.Query().Get("seconds")
	secs := def
	if v != "" {
		var err error
		secs, err = strconv.ParseFloat(v, 64)
		if err != nil || !(secs >= 0) || secs > 86400 {
			return 0, fmt.Errorf("query parameter seconds=%q: want a number of seconds from 0 to 86400", v)
		}
	}
	return time.Duration(secs * float64(time.Second)), nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}
