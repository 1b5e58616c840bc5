package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
)

// Main parses the command line of ebb-bench and runs it: with no
// subcommand the benchmark; `backend` the benchmark backend (on $PORT);
// `forward -listen ADDR -upstream ADDR` the minimal proxy.Forward server;
// `reverseproxy -listen ADDR -upstream ADDR` the httputil reference.
func Main(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "backend":
			port := os.Getenv("PORT")
			if port == "" {
				return errors.New("backend: PORT is not set")
			}
			return RunBackend(ctx, "127.0.0.1:"+port)
		case "reverseproxy":
			fs := flag.NewFlagSet("reverseproxy", flag.ContinueOnError)
			listen := fs.String("listen", "127.0.0.1:8080", "address to serve on")
			up := fs.String("upstream", "", "upstream host:port")
			if err := fs.Parse(args[1:]); err != nil {
				return err
			}
			return RunReverseProxy(ctx, *listen, *up)
		case "forward":
			fs := flag.NewFlagSet("forward", flag.ContinueOnError)
			listen := fs.String("listen", "127.0.0.1:8080", "address to serve on")
			up := fs.String("upstream", "", "upstream host:port")
			prof := fs.String("cpuprofile", "", "write a CPU profile of the server to this file")
			if err := fs.Parse(args[1:]); err != nil {
				return err
			}
			if *prof != "" {
				f, err := os.Create(*prof)
				if err != nil {
					return fmt.Errorf("forward: %w", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("forward: %w", err)
				}
				defer pprof.StopCPUProfile()
			}
			return RunForwarder(ctx, *listen, *up)
		}
	}
	fs := flag.NewFlagSet("ebb-bench", flag.ContinueOnError)
	var o Options
	fs.DurationVar(&o.Duration, "duration", 0, "length of each measurement (default 5s)")
	fs.IntVar(&o.Rounds, "rounds", 0, "rounds per measurement, best kept (default 2)")
	fs.IntVar(&o.Conns, "conns", 0, "connections for the throughput measurement (default 32)")
	fs.BoolVar(&o.Pin, "pin", false, "pin the load tool and the servers to separate CPUs with taskset")
	fs.StringVar(&o.LoadCPUs, "load-cpus", "0", "CPUs of the load tool with -pin")
	fs.StringVar(&o.ServerCPUs, "server-cpus", "1", "CPUs of the proxies and the backend with -pin")
	fs.StringVar(&o.Shim, "shim", "auto", "what to measure as ebb: auto, ebb-run, forward or both")
	fs.BoolVar(&o.Reference, "reference", false, "also measure a plain httputil.ReverseProxy, for reference")
	docs := fs.String("docs", "docs/benchmarks.md", "markdown file to update, relative to the module root (empty: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch o.Shim {
	case "auto", "ebb-run", "forward", "both":
	default:
		return fmt.Errorf("-shim %q: want auto, ebb-run, forward or both", o.Shim)
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	o.Root = root
	if *docs != "" {
		o.DocsPath = filepath.Join(root, *docs)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	o.Self = []string{self}
	o.Log = os.Stdout
	return Run(ctx, o)
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("find module root: not inside the ebb module")
	}
	return filepath.Dir(mod), nil
}
