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

// newRequestID returns a fresh id: 16 hex digits of process-random prefix,
// a dash, and 16 hex digits of a counter.
func newRequestID() string {
	var b [33]byte
	copy(b[:16], idPrefix[:])
	b[16] = '-'
	n := idCounter.Add(1)
	for i := 32; i > 16; i-- {
		b[i] = hexDigits[n&0xf]
		n >>= 4
	}
	return string(b[:])
}
