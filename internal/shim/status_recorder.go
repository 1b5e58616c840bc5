package shim

import (
	"net/http"
	"sync"
)

// statusRecorder remembers the status code a handler wrote, for the
// requests-by-code metric. It passes Flush on and exposes the wrapped writer
// through Unwrap, so http.ResponseController (hijacking for WebSockets,
// full duplex, deadlines) reaches the real connection. Recorders are pooled:
// the hot path allocates none.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

var recorders = sync.Pool{New: func() any { return new(statusRecorder) }}

func getRecorder(w http.ResponseWriter) *statusRecorder {
	rec := recorders.Get().(*statusRecorder)
	rec.ResponseWriter, rec.code = w, 0
	return rec
}

func putRecorder(rec *statusRecorder) {
	rec.ResponseWriter = nil
	recorders.Put(rec)
}

// WriteHeader records the first final status (1xx other than 101 are
// informational and do not count).
func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush sends buffered data to the client at once (SSE, streaming).
func (s *statusRecorder) Flush() {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
