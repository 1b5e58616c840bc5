package platform

import "time"

// backoff is the exponential delay between restarts of a crashing replica:
// Min after the first crash, doubling up to Max. A replica that stayed up
// for at least Reset before crashing starts again from Min.
type backoff struct {
	Min, Max, Reset time.Duration
}

// defaultBackoff restarts after 200 ms, 400 ms, ... up to 10 s.
var defaultBackoff = backoff{Min: 200 * time.Millisecond, Max: 10 * time.Second, Reset: 30 * time.Second}

// delay is the wait before restart number n (n = 1 for the first restart).
func (b backoff) delay(n int) time.Duration {
	if n < 1 {
		return 0
	}
	d := b.Min
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}
