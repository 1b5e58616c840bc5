package proxy

import (
	"bufio"
	"errors"
	"io"
	"net/http"
)

// errMalformedChunk is returned for a response body whose chunked framing
// is broken.
var errMalformedChunk = errors.New("malformed chunked encoding")

// bodyCopier copies a response body from an upstream connection's read
// buffer to the client. It uses the connection's buffer as its copy buffer
// and flushes the client whenever the next read from the upstream could
// block, so that streamed responses (SSE) reach the client as they are
// produced while a response that is already complete is written in one go.
type bodyCopier struct {
	w     http.ResponseWriter
	br    *bufio.Reader
	dirty bool // written to w since the last flush
	// wErr is set when writing to the client failed (as opposed to reading
	// from the upstream).
	wErr error
}

// fill makes sure the read buffer holds at least one byte, flushing the
// client first when the read may block.
func (bc *bodyCopier) fill() error {
	if bc.br.Buffered() > 0 {
		return nil
	}
	if bc.dirty {
		bc.dirty = false
		if err := flush(bc.w); err != nil {
			bc.wErr = err
			return err
		}
	}
	_, err := bc.br.Peek(1)
	return err
}

// copyN copies exactly n bytes.
func (bc *bodyCopier) copyN(n int64) error {
	for n > 0 {
		if err := bc.fill(); err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		m := min(int64(bc.br.Buffered()), n)
		b, _ := bc.br.Peek(int(m))
		if _, err := bc.w.Write(b); err != nil {
			bc.wErr = err
			return err
		}
		bc.dirty = true
		_, _ = bc.br.Discard(int(m))
		n -= m
	}
	return nil
}

// copyToEOF copies until the upstream closes the connection.
func (bc *bodyCopier) copyToEOF() error {
	for {
		if err := bc.fill(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		b, _ := bc.br.Peek(bc.br.Buffered())
		if _, err := bc.w.Write(b); err != nil {
			bc.wErr = err
			return err
		}
		bc.dirty = true
		_, _ = bc.br.Discard(len(b))
	}
}

// copyChunked decodes a chunked body and copies its data; trailers are set
// on the client response with http.TrailerPrefix.
func (bc *bodyCopier) copyChunked() error {
	for {
		if err := bc.fill(); err != nil {
			return unexpected(err)
		}
		line, err := bc.br.ReadSlice('\n')
		if err != nil {
			return unexpected(err)
		}
		size, ok := parseChunkSize(line)
		if !ok {
			return errMalformedChunk
		}
		if size == 0 {
			return bc.trailers()
		}
		if err := bc.copyN(size); err != nil {
			return err
		}
		if err := bc.fill(); err != nil {
			return unexpected(err)
		}
		line, err = bc.br.ReadSlice('\n')
		if err != nil {
			return unexpected(err)
		}
		if !(len(line) == 1 || (len(line) == 2 && line[0] == '\r')) {
			return errMalformedChunk
		}
	}
}

// trailers reads the trailer section after the last chunk.
func (bc *bodyCopier) trailers() error {
	for {
		if err := bc.fill(); err != nil {
			return unexpected(err)
		}
		b, err := bc.br.ReadSlice('\n')
		if err != nil {
			return unexpected(err)
		}
		line, _ := nextLine(string(b))
		if line == "" {
			return nil
		}
		k, v, ok := cutHeader(line)
		if !ok {
			return errMalformedChunk
		}
		switch k {
		case "Content-Length", "Transfer-Encoding", "Trailer", "Connection", "Te", "Keep-Alive":
			continue
		}
		h := bc.w.Header()
		h[http.TrailerPrefix+k] = append(h[http.TrailerPrefix+k], v)
	}
}

// cutHeader splits a header line into its canonical key and trimmed value.
func cutHeader(line string) (k, v string, ok bool) {
	for i := 0; i < len(line); i++ {
		if line[i] == ':' {
			if i == 0 {
				return "", "", false
			}
			return canonicalKey(line[:i]), trimOWS(line[i+1:]), true
		}
	}
	return "", "", false
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// parseChunkSize parses "HEX[;ext]\r\n".
func parseChunkSize(line []byte) (int64, bool) {
	var n int64
	digits := 0
	for _, c := range line {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return n, digits > 0 && (c == ';' || c == '\r' || c == '\n' || c == ' ' || c == '\t')
		}
		if digits == 15 {
			return 0, false // too large
		}
		n = n<<4 | int64(d)
		digits++
	}
	return 0, false
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// flush flushes w, unwrapping it when it does not implement http.Flusher
// itself.
func flush(w http.ResponseWriter) error {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
		return nil
	}
	err := http.NewResponseController(w).Flush()
	if errors.Is(err, http.ErrNotSupported) {
		return nil
	}
	return err
}
