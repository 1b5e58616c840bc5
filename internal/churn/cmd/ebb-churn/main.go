// Command ebb-churn measures autoscaling: it runs the churn scenario and
// repeated cold starts against examples/hello, then writes the
// "## Autoscaling" section of docs/benchmarks.md and the plot
// docs/churn.svg. Run it from the repository root (make churn).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ebb-run/ebb/internal/churn"
)

func main() {
	coldStarts := flag.Int("cold-starts", 10, "cold starts and scale-outs to measure (the churn run's and this many less one more)")
	doc := flag.String("doc", "docs/benchmarks.md", "Markdown file whose "+churn.SectionTitle+" section is written (empty: none)")
	svg := flag.String("svg", "docs/churn.svg", "SVG plot of the replicas over time (empty: none)")
	hello := flag.String("hello", "examples/hello", "directory of the hello example")
	verbose := flag.Bool("v", false, "echo the platform's events and replica output")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *coldStarts, *doc, *svg, *hello, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "ebb-churn:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, coldStarts int, doc, svg, hello string, verbose bool) error {
	if coldStarts < 1 {
		return fmt.Errorf("-cold-starts %d: want at least 1", coldStarts)
	}
	var plog io.Writer
	if verbose {
		plog = os.Stderr
	}
	m, err := churn.Measure(ctx, churn.MeasureOptions{HelloSrc: hello, Cycles: coldStarts - 1, Progress: os.Stderr, PlatformLog: plog})
	if err != nil {
		if m != nil && m.Churn != nil && m.Churn.Failed > 0 {
			fmt.Fprintf(os.Stderr, "failed requests:\n%v\n", m.Churn.Failures)
		}
		return err
	}
	section := m.Section("churn.svg")
	fmt.Println(section)
	if svg != "" {
		var buf bytes.Buffer
		if err := churn.WriteSVG(&buf, m.Churn, "Replicas during the churn run (hello app, min_replicas 0, replica_concurrency 2)"); err != nil {
			return err
		}
		if err := os.WriteFile(svg, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", svg, err)
		}
	}
	if doc != "" {
		if err := churn.WriteSection(doc, section); err != nil {
			return err
		}
	}
	if m.Churn.Failed > 0 {
		return fmt.Errorf("%d of %d requests failed:\n%v", m.Churn.Failed, m.Churn.Sent, m.Churn.Failures)
	}
	if m.Leftover > 0 {
		return fmt.Errorf("%d replica process groups outlived the platform (killed)", m.Leftover)
	}
	return nil
}
