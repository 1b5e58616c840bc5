package shim

import (
	"net/http"

	"github.com/ebb-run/ebb/graceful"
)

// The header values of the shim's own answers, allocated once. net/http only
// reads them.
var (
	hvClose      = []string{"close"}
	hvDrain      = []string{"1"}
	hvRetryAfter = []string{"1"}
	hvText       = []string{"text/plain; charset=utf-8"}
)

// The bodies of the shim's own answers, the same from net/http (below) and
// from the event loops (fastpath_linux.go).
const (
	msgDraining     = "draining\n"
	msgTimeout      = "the grace period ended\n"
	msgExited       = "the app exited\n"
	msgRefused      = "the app did not accept the request\n"
	msgNotReady     = "the app is not ready yet\n"
	msgQueueFull    = "too many requests queued\n"
	msgNotAnswering = "the app is not answering\n"
)

// writeDrained answers a request the shim refuses because it is draining:
// 503, the drain marker (the request was not processed, a router may retry
// it elsewhere) and Connection: close, so the client's next request opens a
// connection that a router sends elsewhere.
func writeDrained(w http.ResponseWriter) {
	h := w.Header()
	h["Connection"] = hvClose
	h[graceful.DrainHeader] = hvDrain
	h["Retry-After"] = hvRetryAfter
	h["Content-Type"] = hvText
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(msgDraining))
}

// writeBusy answers a request that found the queue full, or that waited for
// the app's readiness longer than the initialization timeout: 503 with
// Retry-After and the drain marker; the connection stays usable.
func writeBusy(w http.ResponseWriter, msg string) {
	h := w.Header()
	h[graceful.DrainHeader] = hvDrain
	h["Retry-After"] = hvRetryAfter
	h["Content-Type"] = hvText
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(msg))
}

// writeStatus answers with a bare status.
func writeStatus(w http.ResponseWriter, code int, msg string) {
	w.Header()["Content-Type"] = hvText
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg))
}
