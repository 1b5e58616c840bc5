// Command appserver is a test fixture: an HTTP server on $PORT (or -addr)
// whose reaction to SIGTERM is chosen by -on-sigterm:
//
//	die       the Go default: exit at once, cutting requests in flight
//	ignore    ignore SIGTERM (only SIGKILL stops it)
//	graceful  stop accepting, finish requests in flight, exit 0
//
// Endpoints:
//
//	/             200 "ok"
//	/ready        200 while serving (503 once a graceful shutdown began)
//	/sleep?d=2s   answers "slept" after d
//	/stream?n=5&every=100ms  text/event-stream, one flushed event per tick
//	/ws           WebSocket echo
//	/echo         streams the request body back
//	/max          the peak number of concurrent requests seen (other paths)
//	/exit?code=3  answers, then exits with code
//
// It prints "listening on ADDR" once it accepts connections, and
// "got SIGTERM" when it receives it (in every mode but die).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

func main() {
	addr := flag.String("addr", "", "listen address (default 127.0.0.1:$PORT)")
	onTerm := flag.String("on-sigterm", "die", "die, ignore or graceful")
	flag.Parse()
	if *addr == "" {
		*addr = "127.0.0.1:" + os.Getenv("PORT")
	}
	var cur, peak atomic.Int64
	var shuttingDown atomic.Bool
	track := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			n := cur.Add(1)
			defer cur.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			h(w, r)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", track(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
		if shuttingDown.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ready")
	})
	mux.HandleFunc("/sleep", track(func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		select {
		case <-time.After(d):
			fmt.Fprint(w, "slept")
		case <-r.Context().Done():
		}
	}))
	mux.HandleFunc("/stream", track(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		every, _ := time.ParseDuration(r.URL.Query().Get("every"))
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range n {
			fmt.Fprintf(w, "data: %d\n\n", i)
			http.NewResponseController(w).Flush()
			select {
			case <-time.After(every):
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprint(w, "data: end\n\n")
	}))
	mux.HandleFunc("/ws", track(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, msg); err != nil {
				return
			}
		}
	}))
	mux.HandleFunc("/echo", track(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).EnableFullDuplex()
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.Copy(w, r.Body)
	}))
	mux.HandleFunc("/max", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, peak.Load()) })
	mux.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		fmt.Fprint(w, "bye")
		http.NewResponseController(w).Flush()
		go func() { time.Sleep(20 * time.Millisecond); os.Exit(code) }()
	})

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	switch *onTerm {
	case "die":
	case "ignore":
		sigc := make(chan os.Signal, 1)
		signal.Notify(sigc, syscall.SIGTERM)
		go func() {
			for range sigc {
				fmt.Println("got SIGTERM (ignored)")
			}
		}()
	case "graceful":
		sigc := make(chan os.Signal, 1)
		signal.Notify(sigc, syscall.SIGTERM)
		go func() {
			<-sigc
			fmt.Println("got SIGTERM")
			shuttingDown.Store(true)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
		}()
	default:
		fmt.Fprintln(os.Stderr, "appserver: -on-sigterm must be die, ignore or graceful")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "appserver:", err)
		os.Exit(1)
	}
	fmt.Println("listening on", ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "appserver:", err)
		os.Exit(1)
	}
	fmt.Println("shut down")
}
