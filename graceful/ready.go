package graceful

import (
	"encoding/json"
	"net/http"
)

// Readiness states reported in the "status" field of the readiness answer.
const (
	StatusReady    = "ready"    // 200: serving
	StatusStarting = "starting" // 503: the app has not declared itself started
	StatusDraining = "draining" // 503: the drain has begun
)

// readyBody is the JSON body of the readiness answer.
type readyBody struct {
	Status         string `json:"status"`
	ActiveRequests int    `json:"active_requests"`
}

// ReadyHandler returns the readiness handler: 200 with
// {"status":"ready","active_requests":N} while serving, and 503 with status
// "starting" before the app is started (see Started) or "draining" from the
// first moment of the drain. Middleware already answers it at
// Options.ReadyPath; mount it yourself only to serve it elsewhere (another
// path or port). It is not counted as in flight.
func (s *Server) ReadyHandler() http.Handler {
	return http.HandlerFunc(s.serveReady)
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	body := readyBody{Status: StatusReady, ActiveRequests: s.Active()}
	code := http.StatusOK
	switch {
	case s.isDraining():
		body.Status, code = StatusDraining, http.StatusServiceUnavailable
	case !s.started.Load():
		body.Status, code = StatusStarting, http.StatusServiceUnavailable
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_ = json.NewEncoder(w).Encode(body) // the client may be gone; nothing to do
	}
}
