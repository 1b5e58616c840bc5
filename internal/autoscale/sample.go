package autoscale

import "time"

// Sample is one observation of an app, taken by the control loop.
type Sample struct {
	At time.Time
	// InFlight is the number of requests being served by all replicas.
	InFlight int
	// Queued is the number of requests waiting in the router because every
	// replica is at its limit or none is ready.
	Queued int
	// Requests is the cumulative number of requests the app has received;
	// the requests_per_second metric is its rate over the window.
	Requests uint64
	// CPUCores is the CPU used by all replicas' process trees, in cores.
	CPUCores float64
	// MemoryGB is the memory used by all replicas' process trees, in GB.
	MemoryGB float64
}

// Window holds the samples of the last evaluation interval. The zero value
// is empty and ready to use. A Window is a plain value owned by one loop.
type Window struct {
	samples []Sample
}

// Add records s and forgets samples older than span before s.At.
func (w *Window) Add(s Sample, span time.Duration) {
	w.samples = append(w.samples, s)
	cut := 0
	for cut < len(w.samples)-1 && s.At.Sub(w.samples[cut].At) > span {
		cut++
	}
	if cut > 0 {
		w.samples = append(w.samples[:0], w.samples[cut:]...)
	}
}

// Samples returns the samples in the window, oldest first.
func (w *Window) Samples() []Sample { return w.samples }

// Latest returns the newest sample, or the zero Sample.
func (w *Window) Latest() Sample {
	if len(w.samples) == 0 {
		return Sample{}
	}
	return w.samples[len(w.samples)-1]
}
