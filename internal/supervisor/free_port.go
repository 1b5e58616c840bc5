package supervisor

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// FreePort returns a TCP port that is free on 127.0.0.1 and on all
// interfaces, for an app to bind. The port is not reserved, so it is
// chosen where a race is least likely:
//
//   - below the ephemeral range: a port from that range (what binding port
//     0 gives) is what every other process binding port 0, and every
//     outgoing connection, draws from, so on a busy machine another process
//     can take it before the app binds it, and the app's client would then
//     reach that process (a connection to an ephemeral port can even
//     connect to itself). Below the range, only a process asking for that
//     very port can take it;
//   - outside the ranges well-known services there are configured on
//     (wellKnown), so the app does not take a port a service starting
//     later needs;
//   - never one this process handed out recently: two replicas started at
//     once do not get the same port.
//
// When the ephemeral range starts too low to choose below it, FreePort
// takes ports from the kernel, with the same last two guarantees.
func FreePort() (int, error) {
	low := ephemeralLow()
	below := low-portFloor >= 1000
	for range 200 {
		port := portFloor + rand.IntN(max(low-portFloor, 1))
		if !below {
			var err error
			if port, err = kernelPort(); err != nil {
				return 0, err
			}
		}
		if !isWellKnown(port) && recent.take(port) {
			return port, nil
		}
	}
	if !below {
		return 0, fmt.Errorf("supervisor: free port: the kernel gave no port that is free, not well known and not handed out recently")
	}
	return 0, fmt.Errorf("supervisor: free port: none free between %d and %d", portFloor, low)
}

// portFloor is the lowest port FreePort chooses: below it are the ports
// most services are configured on.
const portFloor = 10000

// wellKnown are port ranges between portFloor and the ephemeral range that
// services commonly listen on, on a host or beside the app in a pod:
// kubelet and the control plane, memcached, Istio's sidecar, MongoDB and
// Kubernetes' NodePorts.
var wellKnown = [][2]int{{10248, 10260}, {11211, 11212}, {15000, 15100}, {27017, 27020}, {30000, 32768}}

func isWellKnown(port int) bool {
	for _, r := range wellKnown {
		if port >= r[0] && port < r[1] {
			return true
		}
	}
	return false
}

// ephemeralLow returns where the kernel's ephemeral port range starts.
func ephemeralLow() int {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				return n
			}
		}
	}
	return 32768 // Linux's default; other systems start higher
}

// kernelPort returns a port the kernel chose for 127.0.0.1.
func kernelPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("supervisor: free port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		return 0, fmt.Errorf("supervisor: free port: %w", err)
	}
	return port, nil
}

// portFree reports whether port can be bound on 127.0.0.1 and on all
// interfaces.
func portFree(port int) bool {
	for _, host := range []string{"127.0.0.1", ""} {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return false
		}
		ln.Close()
	}
	return true
}

// recent holds the ports FreePort handed out last.
var recent recentPorts

// recentPorts remembers the last len(ring) ports handed out.
type recentPorts struct {
	mu   sync.Mutex
	ring [256]int
	next int
}

// take hands port out if it was not handed out recently and is free now.
func (r *recentPorts) take(port int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.ring {
		if p == port {
			return false
		}
	}
	if !portFree(port) {
		return false
	}
	r.ring[r.next] = port
	r.next = (r.next + 1) % len(r.ring)
	return true
}
