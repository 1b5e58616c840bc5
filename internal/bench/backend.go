// Package bench measures the overhead of ebb's reverse proxy against a
// direct connection and against nginx, on this machine, in one run. It is
// the library behind `make bench` (cmd/ebb-bench).
package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// backendBody is what the benchmark backend answers: a small body, like a
// health check or a tiny JSON answer.
const backendBody = "Hello, world!\n"

// RunBackend serves the benchmark backend on addr until ctx ends: every
// request is answered 200 with a 14-byte text body. It is the app that the
// benchmark puts behind each proxy, started as a separate process so that
// it does not share a Go runtime with the proxy under test.
func RunBackend(ctx context.Context, addr string) error {
	body := []byte(backendBody)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h["Content-Type"] = []string{"text/plain; charset=utf-8"}
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	return serveUntil(ctx, srv, addr)
}

// serveUntil runs srv on addr until ctx ends, then shuts it down with a
// deadline.
func serveUntil(ctx context.Context, srv *http.Server, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("bench: listen %s: %w", addr, err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("bench: serve %s: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("bench: serve %s: %w", addr, err)
	}
	return nil
}
