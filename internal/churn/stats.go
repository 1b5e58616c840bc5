package churn

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// listeningAt asks one replica directly (not through the router) when its
// app bound its listener, from the hello app's GET /stats.
func listeningAt(ctx context.Context, c *http.Client, port int) (time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/stats", port), nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("listening time: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return time.Time{}, fmt.Errorf("listening time: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		ListeningAt string `json:"listening_at"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return time.Time{}, fmt.Errorf("listening time: GET /stats: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, body.ListeningAt)
	if err != nil {
		return time.Time{}, fmt.Errorf("listening time: GET /stats has no listening_at (%q): %w", body.ListeningAt, err)
	}
	return t, nil
}
