package churn

import (
	"sync"
	"time"

	"github.com/ebb-run/ebb/internal/platform"
)

// Sample is the app's replica count at one moment of a run.
type Sample struct {
	// At is the time since the run started.
	At time.Duration
	// Ready counts replicas in the Ready state; Total counts every replica
	// the app has, starting and draining ones included.
	Ready, Total int
	// Desired is the count the app is asked to run.
	Desired int
}

// sampler records the replica count of an app at a fixed period until
// stopped.
type sampler struct {
	app   *platform.App
	start time.Time
	every time.Duration

	mu      sync.Mutex
	samples []Sample
	stopc   chan struct{}
	done    chan struct{}
}

func startSampler(app *platform.App, start time.Time, every time.Duration) *sampler {
	s := &sampler{app: app, start: start, every: every, stopc: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *sampler) run() {
	defer close(s.done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		s.take()
		select {
		case <-s.stopc:
			s.take()
			return
		case <-t.C:
		}
	}
}

func (s *sampler) take() {
	st := s.app.Status()
	smp := Sample{At: time.Since(s.start), Ready: st.Ready, Desired: st.Desired}
	for _, v := range st.Revisions {
		smp.Total += len(v.Replicas)
	}
	s.mu.Lock()
	s.samples = append(s.samples, smp)
	s.mu.Unlock()
}

// stop ends sampling and returns the samples.
func (s *sampler) stop() []Sample {
	select {
	case <-s.stopc:
	default:
		close(s.stopc)
	}
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.samples...)
}
