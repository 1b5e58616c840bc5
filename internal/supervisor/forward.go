package supervisor

import (
	"os"
	"os/signal"
	"syscall"
)

// ForwardedSignals are the signals ebb passes on to an app instead of acting
// on them itself. SIGTERM is not among them: it starts ebb's drain, which
// signals the app only once in-flight requests are done.
var ForwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// ForwardSignals relays the given signals (ForwardedSignals when none) that
// this process receives to p's process group, as a terminal would, until p
// exits or stop is called. onSignal, when not nil, is called with each
// forwarded signal (for logging). stop waits for the relaying goroutine to
// end.
func ForwardSignals(p *Process, onSignal func(os.Signal), sigs ...os.Signal) (stop func()) {
	if len(sigs) == 0 {
		sigs = ForwardedSignals
	}
	sigc := make(chan os.Signal, 8)
	signal.Notify(sigc, sigs...)
	quit := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		defer signal.Stop(sigc)
		for {
			select {
			case <-quit:
				return
			case <-p.Done():
				return
			case s := <-sigc:
				if onSignal != nil {
					onSignal(s)
				}
				_ = p.SignalGroup(s.(syscall.Signal))
			}
		}
	}()
	return func() {
		select {
		case <-quit:
		default:
			close(quit)
		}
		<-ended
	}
}
