package main

import (
	"net/http"
	"os"
	"sync"
	"time"
)

// stats counts the requests the app processes (in_flight, max_in_flight,
// served) and reports how many wait in graceful's queue (queued). Requests that graceful
// answers itself (readiness, refusals) never reach it; /stats is not
// counted.
type stats struct {
	queued func() int // requests waiting for a concurrency slot
	// listeningAt is when the listener was bound, before serving: from then
	// on the app can answer its readiness check.
	listeningAt time.Time

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	served      int
}

// statsBody is the JSON answer of GET /stats.
type statsBody struct {
	InFlight    int `json:"in_flight"`
	MaxInFlight int `json:"max_in_flight"`
	Served      int `json:"served"`
	Queued      int `json:"queued"`
	PID         int `json:"pid"`
	// ListeningAt is when the app bound its listener (RFC 3339, ns).
	ListeningAt string `json:"listening_at"`
}

// Middleware counts the requests next processes, except /stats.
func (s *stats) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stats" {
			next.ServeHTTP(w, r)
			return
		}
		s.mu.Lock()
		s.inFlight++
		s.maxInFlight = max(s.maxInFlight, s.inFlight)
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.inFlight--
			s.served++
			s.mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *stats) snapshot() statsBody {
	q := s.queued()
	s.mu.Lock()
	defer s.mu.Unlock()
	return statsBody{
		InFlight: s.inFlight, MaxInFlight: s.maxInFlight, Served: s.served, Queued: q, PID: os.Getpid(),
		ListeningAt: s.listeningAt.Format(time.RFC3339Nano),
	}
}

// ServeHTTP answers GET /stats.
func (s *stats) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.snapshot())
}
