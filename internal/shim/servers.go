package shim

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// servers are the shim's HTTP servers: the main one in front of the app
// and, when configured, the admin one serving /metrics.
type servers struct {
	main  *http.Server
	fast  *fastPath // the event loops in front of main, if any
	all   []*http.Server
	quiet []*quietConns // the connections of all[i] without a request
	log   *slog.Logger
	// failed receives the error of a server that stopped serving on its
	// own (its listener failed); buffered so a server never blocks on it.
	failed chan error
	ended  chan struct{} // closed when every Serve has returned
}

// serve starts serving ln (and adminLn, when not nil). Every request
// context derives from base.
func (s *shim) serve(ln, adminLn net.Listener, base context.Context) *servers {
	srvs := &servers{
		main: &http.Server{
			Handler:           s,
			BaseContext:       func(net.Listener) context.Context { return base },
			ReadHeaderTimeout: 30 * time.Second,
			IdleTimeout:       90 * time.Second,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		},
		failed: make(chan error, 2),
		ended:  make(chan struct{}),
		log:    s.log,
	}
	srvs.all = append(srvs.all, srvs.main)
	srvs.fast, ln = s.startFastPath(ln, func(err error) {
		select {
		case srvs.failed <- err:
		default:
		}
	})
	s.fast = srvs.fast
	lns := []net.Listener{ln}
	if adminLn != nil {
		srvs.all = append(srvs.all, newAdminServer(s.m, s.log))
		lns = append(lns, adminLn)
		s.log.Info("serving metrics", "addr", "http://"+adminLn.Addr().String()+"/metrics")
	}
	for _, hs := range srvs.all {
		srvs.quiet = append(srvs.quiet, trackQuiet(hs))
	}
	done := make(chan struct{}, len(srvs.all))
	for i, hs := range srvs.all {
		go func() {
			defer func() { done <- struct{}{} }()
			if err := hs.Serve(lns[i]); !errors.Is(err, http.ErrServerClosed) {
				srvs.failed <- err
			}
		}()
	}
	go func() {
		for range srvs.all {
			<-done
		}
		close(srvs.ended)
	}()
	return srvs
}

// shutdown runs once the drain is over: it closes the connections without
// a request (new or idle) and the listeners, gives requests still being
// answered (drain answers, readiness probes) up to d, then closes every
// connection, and returns once every server has stopped. The event loops
// go first, each phase bounded by d.
func (srvs *servers) shutdown(d time.Duration) {
	closed := srvs.fast.shutdown(d)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for _, q := range srvs.quiet {
		closed += q.close()
	}
	if closed > 0 {
		srvs.log.Info("closed connections without a request", "count", closed)
	}
	for _, hs := range srvs.all {
		if err := hs.Shutdown(ctx); err != nil {
			_ = hs.Close()
		}
	}
	<-srvs.ended
}
