package graceful

import (
	"context"
	"errors"
	"net/http"
)

// trackedKey marks a request context as already tracked by a Server, so
// that wrapping a handler twice counts each request once.
type trackedKey struct{}

// Middleware wraps next so that the Server tracks its requests:
//
//   - GET and HEAD requests for Options.ReadyPath are answered by the
//     readiness handler, not passed to next.
//   - Requests selected by Options.Exempt go straight to next.
//   - Every other request counts as in flight until next returns — through
//     the end of a streamed body, and for as long as a handler that
//     hijacks the connection (a WebSocket) keeps running. A handler must
//     therefore not return while it still uses a hijacked connection.
//   - With Options.MaxConcurrency, a request over the cap waits in the FIFO
//     queue; when the queue is full it is answered 503 with Retry-After and
//     DrainHeader.
//   - Once the lame-duck period is over, new and queued requests are
//     answered 503 with Retry-After, Connection: close and DrainHeader.
//     Requests that arrive during the lame-duck period are served, with
//     Connection: close.
//   - The request's context is cancelled, with cause ErrGracePeriodExpired,
//     if it is still running when the grace period ends.
//
// Serve wraps the http.Server's handler with Middleware itself; wrapping
// twice is harmless (each request is counted once).
func (s *Server) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(trackedKey{}) != nil {
			next.ServeHTTP(w, r)
			return
		}
		if s.opts.readyPath != "" && r.URL.Path == s.opts.readyPath &&
			(r.Method == http.MethodGet || r.Method == http.MethodHead) {
			s.serveReady(w, r)
			return
		}
		if s.opts.exempt != nil && s.opts.exempt(r) {
			next.ServeHTTP(w, r)
			return
		}
		if err := s.lim.acquire(r.Context()); err != nil {
			s.refuse(w, err)
			return
		}
		defer s.lim.release()

		ctx, cancel := context.WithCancelCause(context.WithValue(r.Context(), trackedKey{}, s))
		defer cancel(nil)
		stop := context.AfterFunc(s.reqCtx, func() { cancel(context.Cause(s.reqCtx)) })
		defer stop()
		if s.isDraining() && r.Header.Get("Upgrade") == "" {
			// Lame duck: serve, but do not keep the connection.
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// refuse answers a request that was not processed: the queue was full, the
// server is draining, or the client went away while queued (then the answer
// most likely reaches nobody).
func (s *Server) refuse(w http.ResponseWriter, err error) {
	h := w.Header()
	h.Set("Retry-After", s.opts.retryAfter)
	h.Set(DrainHeader, "1")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	msg := "server busy: request queue full, retry later\n"
	if errors.Is(err, errDraining) {
		h.Set("Connection", "close")
		msg = "server shutting down: request not processed, retry elsewhere\n"
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(msg)) // the client may be gone; nothing to do
}
