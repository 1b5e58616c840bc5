package supervisor

import (
	"bytes"
	"io"
	"sync"
)

// LineWriter writes each complete line to W with Prefix in front, in one
// Write call per line, so that several LineWriters can share one W (several
// replicas logging to one terminal) without interleaving within a line. A
// partial line is held until its newline arrives or Flush is called; a line
// longer than 64 KiB is written in pieces. Safe for concurrent use.
type LineWriter struct {
	W      io.Writer
	Prefix string

	mu  sync.Mutex
	buf []byte // prefix + pending partial line
}

const maxLine = 64 << 10

// Write implements io.Writer. It reports len(p) unless W fails.
func (l *LineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		if len(l.buf) == 0 {
			l.buf = append(l.buf, l.Prefix...)
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.buf = append(l.buf, p...)
			if len(l.buf) >= maxLine {
				l.buf = append(l.buf, '\n')
				if err := l.emitLocked(); err != nil {
					return n, err
				}
			}
			return n, nil
		}
		l.buf = append(l.buf, p[:i+1]...)
		p = p[i+1:]
		if err := l.emitLocked(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Flush writes a pending partial line, ending it with a newline.
func (l *LineWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) <= len(l.Prefix) {
		l.buf = l.buf[:0]
		return nil
	}
	l.buf = append(l.buf, '\n')
	return l.emitLocked()
}

// emitLocked writes buf and empties it; called with mu held.
func (l *LineWriter) emitLocked() error {
	_, err := l.W.Write(l.buf)
	l.buf = l.buf[:0]
	return err
}
