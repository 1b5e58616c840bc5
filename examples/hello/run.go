package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/ebb-run/ebb/graceful"
)

// run serves the app until a stop signal or ctx ends, then drains.
func run(ctx context.Context, getenv func(string) string, log *slog.Logger) error {
	cfg, err := loadSettings(getenv)
	if err != nil {
		return err
	}
	g := graceful.New(graceful.Options{
		MaxConcurrency: cfg.maxConcurrency,
		QueueSize:      cfg.queueSize,
		LameDuck:       cfg.lameDuck,
		ManualStart:    cfg.startupDelay > 0,
		Exempt:         func(r *http.Request) bool { return r.URL.Path == "/stats" },
		Logger:         log,
	})
	st := &stats{queued: g.Queued}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hello", hello)
	mux.HandleFunc("GET /slow", slow)
	mux.HandleFunc("GET /stream", stream)
	mux.HandleFunc("GET /ws", echo)
	mux.Handle("GET /stats", st)
	srv := &http.Server{
		Handler:           st.Middleware(mux),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.host, strconv.Itoa(cfg.port)))
	if err != nil {
		return fmt.Errorf("hello: listen: %w", err)
	}
	st.listeningAt = time.Now()
	if cfg.startupDelay > 0 {
		// Simulate a warm-up: readiness stays 503 until it is done.
		t := time.AfterFunc(cfg.startupDelay, g.Started)
		defer t.Stop()
	}
	g.OnShutdown(func(context.Context) error {
		s := st.snapshot()
		log.Info("hello: goodbye", "served", s.Served, "max_in_flight", s.MaxInFlight)
		return nil
	})
	return g.Serve(ctx, srv, ln)
}
