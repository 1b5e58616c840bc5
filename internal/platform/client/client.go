// Package client talks to the admin API of a running `ebb up`.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/ebb-run/ebb/internal/platform"
)

// AdminEnv names the environment variable that gives the admin address
// when --admin is not set.
const AdminEnv = "EBB_ADMIN"

// Client calls one admin API. The zero value is not usable; use New.
type Client struct {
	base string
	http *http.Client
}

// Addr resolves the admin address: flag if set, else $EBB_ADMIN, else
// platform.DefaultAdmin.
func Addr(flag string) string {
	switch {
	case flag != "":
		return flag
	case os.Getenv(AdminEnv) != "":
		return os.Getenv(AdminEnv)
	}
	return platform.DefaultAdmin
}

// New returns a client for the admin API at addr (host:port or a URL).
func New(addr string) *Client {
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return &Client{base: strings.TrimRight(base, "/"), http: &http.Client{}}
}

// Status returns every app.
func (c *Client) Status(ctx context.Context) (platform.Status, error) {
	var st platform.Status
	err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st)
	return st, err
}

// App returns one app.
func (c *Client) App(ctx context.Context, app string) (platform.AppStatus, error) {
	var st platform.AppStatus
	err := c.do(ctx, http.MethodGet, "/v1/apps/"+url.PathEscape(app), nil, &st)
	return st, err
}

// Scale sets an app's replica bounds.
func (c *Client) Scale(ctx context.Context, app string, min, max int) (platform.AppStatus, error) {
	var st platform.AppStatus
	err := c.do(ctx, http.MethodPost, "/v1/apps/"+url.PathEscape(app)+"/scale", platform.ScaleRequest{Min: min, Max: max}, &st)
	return st, err
}

// Deploy rolls out a new revision from dir and returns when it is done.
func (c *Client) Deploy(ctx context.Context, app, dir string) (platform.DeployResult, error) {
	var res platform.DeployResult
	err := c.do(ctx, http.MethodPost, "/v1/apps/"+url.PathEscape(app)+"/deploy", platform.DeployRequest{Dir: dir}, &res)
	return res, err
}

// Migrate replaces one replica and returns when the old one is gone.
func (c *Client) Migrate(ctx context.Context, app, replica string) (platform.MigrateResult, error) {
	var res platform.MigrateResult
	err := c.do(ctx, http.MethodPost, "/v1/apps/"+url.PathEscape(app)+"/migrate", platform.MigrateRequest{Replica: replica}, &res)
	return res, err
}

// Logs copies an app's recent log lines (n of them; one replica when
// replica is set) to w, and with follow keeps copying new lines until ctx
// ends or the platform stops.
func (c *Client) Logs(ctx context.Context, app string, n int, replica string, follow bool, w io.Writer) error {
	q := url.Values{"n": {strconv.Itoa(n)}}
	if replica != "" {
		q.Set("replica", replica)
	}
	if follow {
		q.Set("follow", "1")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/apps/"+url.PathEscape(app)+"/logs?"+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.connErr(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return decodeError(resp)
	}
	if _, err := io.Copy(w, resp.Body); err != nil && ctx.Err() == nil {
		return fmt.Errorf("logs: %w", err)
	}
	return nil
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.connErr(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return decodeError(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	return nil
}

// ErrUnreachable is wrapped when no `ebb up` answers at the address.
var ErrUnreachable = errors.New("no ebb up answering")

func (c *Client) connErr(err error) error {
	return fmt.Errorf("%w at %s (start one with `ebb up`, or point --admin / %s at it): %w", ErrUnreachable, c.base, AdminEnv, err)
}

func decodeError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e platform.ErrorBody
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return errors.New(e.Error)
	}
	return fmt.Errorf("admin API: %s: %s", resp.Status, bytes.TrimSpace(b))
}
