package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
)

// tunnel completes a protocol upgrade (WebSocket) that the upstream on c
// accepted with head (101): it hijacks the client connection, relays the
// 101 head, and copies bytes both ways until both directions have closed or
// r.Context() ends. It owns c and closes it.
func (p *Proxy) tunnel(w http.ResponseWriter, r *http.Request, c *conn, head *responseHead) error {
	defer c.close()
	cc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		p.writeError(w, r, http.StatusBadGateway)
		return fmt.Errorf("upgrade: hijack client connection: %w", err)
	}
	defer cc.Close()
	stop := context.AfterFunc(r.Context(), func() {
		_ = cc.SetDeadline(aLongTimeAgo)
		c.interrupt()
	})
	defer stop()

	bw := brw.Writer
	_, _ = bw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	for _, f := range head.fields {
		_, _ = bw.WriteString(f.k)
		_, _ = bw.WriteString(": ")
		_, _ = bw.WriteString(f.v)
		_, _ = bw.WriteString("\r\n")
	}
	if !head.hasReqID {
		if id := r.Header["X-Request-Id"]; len(id) > 0 {
			_, _ = bw.WriteString("X-Request-Id: " + id[0] + "\r\n")
		}
	}
	_, _ = bw.WriteString("Connection: Upgrade\r\n\r\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("upgrade: write 101 to client: %w", err)
	}

	up := make(chan error, 1)
	go func() { up <- pipe(c.nc, cc, brw.Reader) }()
	downErr := pipe(cc, c.nc, c.br)
	if downErr != nil {
		// The upstream failed: end the other direction too.
		_ = cc.SetDeadline(aLongTimeAgo)
		c.interrupt()
	}
	upErr := <-up
	if err := errors.Join(downErr, upErr); err != nil && r.Context().Err() == nil {
		return fmt.Errorf("upgrade: tunnel: %w", err)
	}
	return nil
}

// pipe copies what src's reader holds and then src itself to dst until
// EOF, then half-closes dst so the peer sees the end of this direction.
func pipe(dst net.Conn, src net.Conn, buffered io.Reader) error {
	if br, ok := buffered.(interface {
		Buffered() int
		Peek(int) ([]byte, error)
		Discard(int) (int, error)
	}); ok {
		if n := br.Buffered(); n > 0 {
			b, _ := br.Peek(n)
			if _, err := dst.Write(b); err != nil {
				return err
			}
			_, _ = br.Discard(n)
		}
	}
	_, err := io.Copy(dst, src)
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else if err == nil {
		_ = dst.Close()
	}
	return err
}
