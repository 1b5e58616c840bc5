package testapps

import (
	"bytes"
	"regexp"
	"sync"
	"time"
)

// Output collects a child process's output: the copier goroutines of
// os/exec write it while a test reads it. The zero value is ready to use.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

// String returns everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// Duration finds the first line of the output that re matches and parses
// its first submatch as a duration (a logged "took=1.5s", for example); ok
// is false when no line matches or the submatch is no duration.
func (o *Output) Duration(re *regexp.Regexp) (d time.Duration, ok bool) {
	m := re.FindStringSubmatch(o.String())
	if len(m) < 2 {
		return 0, false
	}
	d, err := time.ParseDuration(m[1])
	return d, err == nil
}
