package check

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteText writes the report for people: the setup, the timeline, one
// line per verdict (with its fix under it unless it passed), the result and
// the app's last output.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	ready := "TCP connect"
	if r.ReadyPath != "" {
		ready = "GET " + r.ReadyPath
	}
	fmt.Fprintf(bw, "ebb check: %s\n", strings.Join(r.Command, " "))
	fmt.Fprintf(bw, "  port %d, grace period %v, readiness %s\n\n", r.Port, time.Duration(r.GraceMS)*time.Millisecond, ready)

	fmt.Fprintln(bw, "Timeline (ms since SIGTERM):")
	for _, e := range r.Timeline {
		fmt.Fprintf(bw, "  %9.1f  %-11s  %s\n", e.AtMS, e.Source, e.Text)
	}
	fmt.Fprintln(bw)

	fmt.Fprintln(bw, "Verdicts:")
	width := 0
	for _, v := range r.Verdicts {
		width = max(width, len(v.Property.Title()))
	}
	counts := map[Status]int{}
	for _, v := range r.Verdicts {
		counts[v.Status]++
		fmt.Fprintf(bw, "  %s  %-*s  %s\n", v.Status, width, v.Property.Title(), v.Detail)
		if v.Fix != "" {
			fmt.Fprintf(bw, "        %*s  fix: %s\n", width, "", v.Fix)
		}
	}
	fmt.Fprintln(bw)
	result := "OK"
	if !r.OK {
		result = "FAILED"
	}
	fmt.Fprintf(bw, "Result: %s (%d PASS, %d WARN, %d FAIL)\n", result, counts[Pass], counts[Warn], counts[Fail])
	if len(r.Output) > 0 {
		fmt.Fprintln(bw, "\nLast output of the app:")
		for _, l := range r.Output {
			fmt.Fprintf(bw, "  | %s\n", l)
		}
	}
	return bw.Flush()
}

// WriteJSON writes the report as one indented JSON document (see
// docs/check.md for the fields).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("check: write JSON report: %w", err)
	}
	return nil
}
