package check

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// freePort returns a port that is free on 127.0.0.1 and on all interfaces,
// chosen below the ephemeral range. A port from the ephemeral range (what
// binding port 0 gives) is what every other process binding port 0, and
// every outgoing connection, draws from: on a busy machine another
// process can take it before the app binds it, and the check would then
// probe that process (a connection to an ephemeral port can even connect
// to itself). Below the range, only a process asking for that very port
// can take it.
func freePort() (int, error) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	const floor = 10000
	if low-floor < 1000 {
		return 0, fmt.Errorf("check: free port: ephemeral range starts at %d, too low to choose below it", low)
	}
	for range 100 {
		port := floor + rand.IntN(low-floor)
		if portFree(port) {
			return port, nil
		}
	}
	return 0, fmt.Errorf("check: free port: no free port found between %d and %d", floor, low)
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
