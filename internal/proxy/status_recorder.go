package proxy

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// StatusRecorder wraps an http.ResponseWriter and remembers the status code
// written through it, for request metrics. It implements http.Flusher and
// http.Hijacker for handlers that assert them directly, and unwraps to the
// wrapped writer, so that http.ResponseController (full duplex, deadlines)
// reaches the real connection.
//
// Recorders are pooled so that the hot path allocates none: take one with
// RecordStatus and hand it back with Release once the handler has returned.
type StatusRecorder struct {
	http.ResponseWriter
	code int
}

var statusRecorders = sync.Pool{New: func() any { return new(StatusRecorder) }}

// RecordStatus returns a recorder wrapping w, from a pool. Call Release when
// done with it.
func RecordStatus(w http.ResponseWriter) *StatusRecorder {
	rec := statusRecorders.Get().(*StatusRecorder)
	rec.ResponseWriter, rec.code = w, 0
	return rec
}

// Release returns rec to the pool. Neither rec nor anything that still holds
// it may be used afterwards.
func (rec *StatusRecorder) Release() {
	rec.ResponseWriter = nil
	statusRecorders.Put(rec)
}

// Code is the status the client got: the first final status written (1xx
// other than 101 are informational and do not count), 200 once a body was
// written or flushed without one, 101 once the connection was hijacked, and
// 0 while nothing was written.
func (rec *StatusRecorder) Code() int { return rec.code }

// WriteHeader records the first final status and passes code on.
func (rec *StatusRecorder) WriteHeader(code int) {
	if rec.code == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		rec.code = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200 and passes b on.
func (rec *StatusRecorder) Write(b []byte) (int, error) {
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	return rec.ResponseWriter.Write(b)
}

// Flush sends buffered data to the client at once (server-sent events,
// streaming), recording an implicit 200.
func (rec *StatusRecorder) Flush() {
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	_ = http.NewResponseController(rec.ResponseWriter).Flush()
}

// Hijack takes over the connection (a protocol upgrade), recording 101 if
// it succeeds and nothing was written before.
func (rec *StatusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(rec.ResponseWriter).Hijack()
	if err == nil && rec.code == 0 {
		rec.code = http.StatusSwitchingProtocols
	}
	return nc, brw, err
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (rec *StatusRecorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }
