package check

import (
	"sort"
	"sync"
	"time"
)

// Event is one line of the timeline: something observed, at a time relative
// to the SIGTERM (negative before it).
type Event struct {
	// AtMS is the time in milliseconds since SIGTERM was sent, rounded to
	// 0.1 ms; negative before it.
	AtMS float64 `json:"at_ms"`
	// Source is what observed it: "process", "listener", "readiness",
	// "new_request", "in_flight" or "check".
	Source string `json:"source"`
	// Text says what happened, e.g. "503 with Connection: close".
	Text string `json:"text"`
}

// timeline collects events from concurrent observers with their absolute
// times; the times are made relative to SIGTERM when the report is built.
// The zero value is ready to use and safe for concurrent use.
type timeline struct {
	mu     sync.Mutex
	events []rawEvent
}

type rawEvent struct {
	at           time.Time
	source, text string
}

// add records an event that happened at time at.
func (t *timeline) add(at time.Time, source, text string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, rawEvent{at, source, text})
}

// relative returns the events in time order, timed from origin.
func (t *timeline) relative(origin time.Time) []Event {
	t.mu.Lock()
	raw := append([]rawEvent(nil), t.events...)
	t.mu.Unlock()
	sort.SliceStable(raw, func(i, j int) bool { return raw[i].at.Before(raw[j].at) })
	out := make([]Event, len(raw))
	for i, e := range raw {
		out[i] = Event{AtMS: ms(e.at.Sub(origin)), Source: e.source, Text: e.text}
	}
	return out
}

// ms converts a duration to milliseconds rounded to 0.1 ms.
func ms(d time.Duration) float64 {
	return float64(d.Round(100*time.Microsecond)) / float64(time.Millisecond)
}
