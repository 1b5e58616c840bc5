package graceful

import (
	"testing"
	"time"
)

func TestGracePeriodFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env     string
		want    time.Duration
		wantErr bool
	}{
		{"", DefaultGracePeriod, false},
		{"2", 2 * time.Second, false},
		{"2.5", 2500 * time.Millisecond, false},
		{"0", DefaultGracePeriod, true},
		{"-3", DefaultGracePeriod, true},
		{"30s", DefaultGracePeriod, true},
		{"NaN", DefaultGracePeriod, true},
		{"Inf", DefaultGracePeriod, true},
		{"1e300", DefaultGracePeriod, true},
	} {
		got, err := gracePeriodFromEnv(func(k string) string {
			if k != EnvGracePeriod {
				t.Fatalf("read %q, want only %q", k, EnvGracePeriod)
			}
			return tc.env
		})
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%s=%q: got %v, %v; want %v, error %v", EnvGracePeriod, tc.env, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestResolveDefaults(t *testing.T) {
	env := func(v string) func(string) string { return func(string) string { return v } }
	s := Options{}.resolve(env(""))
	if s.grace != DefaultGracePeriod || s.reserve != time.Second || s.retryAfter != "1" ||
		s.readyPath != DefaultReadyPath || len(s.signals) != 2 || s.log == nil {
		t.Errorf("zero Options resolved to %+v", s)
	}
	s = Options{}.resolve(env("2"))
	if s.grace != 2*time.Second || s.reserve != 200*time.Millisecond {
		t.Errorf("EBB_GRACE_PERIOD=2: grace %v reserve %v; want 2s, 200ms", s.grace, s.reserve)
	}
	s = Options{GracePeriod: 5 * time.Second, CleanupReserve: -1, RetryAfter: 1500 * time.Millisecond, ReadyPath: "-", QueueSize: 4}.resolve(env("2"))
	if s.grace != 5*time.Second || s.reserve != 0 || s.retryAfter != "2" || s.readyPath != "" || s.queueSize != 0 {
		t.Errorf("explicit options resolved to %+v", s)
	}
	s = Options{GracePeriod: time.Second, CleanupReserve: time.Hour}.resolve(env(""))
	if s.reserve != time.Second {
		t.Errorf("reserve longer than the grace period: got %v, want it capped at 1s", s.reserve)
	}
	defer func() {
		if recover() == nil {
			t.Error("negative MaxConcurrency did not panic")
		}
	}()
	Options{MaxConcurrency: -1}.resolve(env(""))
}
