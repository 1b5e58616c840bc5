package main

import (
	"fmt"
	"strconv"
	"time"
)

// settings are the app's environment settings.
type settings struct {
	host           string // "" = all interfaces
	port           int
	maxConcurrency int
	queueSize      int
	lameDuck       time.Duration
	startupDelay   time.Duration
}

// loadSettings reads the environment through getenv.
func loadSettings(getenv func(string) string) (settings, error) {
	var s settings
	var err error
	s.host = getenv("HOST")
	if s.port, err = envInt(getenv, "PORT", 8000, 1, 65535); err != nil {
		return s, err
	}
	if s.maxConcurrency, err = envInt(getenv, "HELLO_MAX_CONCURRENCY", 0, 0, 1<<20); err != nil {
		return s, err
	}
	if s.queueSize, err = envInt(getenv, "HELLO_QUEUE_SIZE", 0, 0, 1<<20); err != nil {
		return s, err
	}
	if s.lameDuck, err = envDuration(getenv, "HELLO_LAME_DUCK"); err != nil {
		return s, err
	}
	if s.startupDelay, err = envDuration(getenv, "HELLO_STARTUP_DELAY"); err != nil {
		return s, err
	}
	return s, nil
}

func envInt(getenv func(string) string, name string, def, lo, hi int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("hello: environment %s=%q: want an integer from %d to %d", name, v, lo, hi)
	}
	return n, nil
}

// envDuration reads a Go duration ("500ms") or a number of seconds ("0.5").
func envDuration(getenv func(string) string, name string) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return 0, nil
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 && secs < 1e9 {
		return time.Duration(secs * float64(time.Second)), nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d, nil
	}
	return 0, fmt.Errorf("hello: environment %s=%q: want a duration such as 500ms or a number of seconds such as 0.5", name, v)
}
