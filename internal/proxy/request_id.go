package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"sync/atomic"
)

// idPrefix makes request ids unique across processes; idCounter makes them
// unique within this one without a random read per request.
var (
	idPrefix  = newIDPrefix()
	idCounter atomic.Uint64
)

func newIDPrefix() [16]byte {
	var b [8]byte
	_, _ = rand.Read(b[:])
	var out [16]byte
	hex.Encode(out[:], b[:])
	return out
}

const hexDigits = "0123456789abcdef"

// newRequestID returns a fresh id (see AppendRequestID).
func newRequestID() string {
	var b [RequestIDLen]byte
	return string(AppendRequestID(b[:0]))
}

// RequestIDLen is the length of the ids AppendRequestID appends.
const RequestIDLen = 33

// AppendRequestID appends a fresh request id to b: 16 hex digits of
// process-random prefix, a dash, and 16 hex digits of a counter.
func AppendRequestID(b []byte) []byte {
	b = append(b, idPrefix[:]...)
	b = append(b, '-')
	n := idCounter.Add(1)
	var d [16]byte
	for i := 15; i >= 0; i-- {
		d[i] = hexDigits[n&0xf]
		n >>= 4
	}
	return append(b, d[:]...)
}
