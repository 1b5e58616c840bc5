//go:build !linux

package shim

import (
	"net"
	"time"
)

// fastPath is the event-loop server, which only Linux has; elsewhere the
// net/http server takes every connection.
type fastPath struct{}

func (s *shim) startFastPath(ln net.Listener, _ func(error)) (*fastPath, net.Listener) {
	return nil, ln
}
func (f *fastPath) held() int                  { return 0 }
func (f *fastPath) kick()                      {}
func (f *fastPath) end(error)                  {}
func (f *fastPath) shutdown(time.Duration) int { return 0 }
