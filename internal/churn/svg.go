package churn

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"
)

// WriteSVG draws the replica counts of a churn run over time — total,
// ready and desired — with its phases, as a standalone SVG document.
func WriteSVG(w io.Writer, r *Result, title string) error {
	const (
		width, height            = 960, 420
		left, right, top, bottom = 60, 215, 78, 50
	)
	plotW, plotH := float64(width-left-right), float64(height-top-bottom)
	var end time.Duration
	maxN := 1
	for _, s := range r.Samples {
		end = max(end, s.At)
		maxN = max(maxN, s.Total, s.Desired)
	}
	for _, p := range r.Phases {
		end = max(end, p.End)
	}
	secs := math.Max(1, end.Seconds())
	x := func(d time.Duration) float64 { return left + d.Seconds()/secs*plotW }
	yMax := maxN + 1
	y := func(n int) float64 { return top + plotH - float64(n)/float64(yMax)*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))

	// Phases: main ones as bands with labels above the plot (two rows so
	// that narrow neighbours do not overlap); rollout and migration,
	// which happen inside the steady phase, as tinted bands labelled
	// inside the plot.
	bands := map[string]string{"idle": "#f4f4f4", "burst": "#fde2c8", "steady": "#e3effa", "cold start": "#fde2c8"}
	row := 0
	for _, p := range r.Phases {
		fill, ok := bands[p.Name]
		if !ok {
			continue
		}
		x0, x1 := x(p.Start), x(p.End)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%.0f" fill="%s"/>`+"\n", x0, top, math.Max(1, x1-x0), plotH, fill)
		ly := top - 10 - 16*(row%2)
		row++
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#999" stroke-width="0.8"/>`+"\n", (x0+x1)/2, ly+3, (x0+x1)/2, top)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#333">%s</text>`+"\n", (x0+x1)/2, ly, html.EscapeString(p.Name))
	}
	inner := []struct{ fill, text string }{{"#a9c8ea", "#1d4f80"}, {"#d5c2ea", "#5a2d82"}}
	k := 0
	for _, p := range r.Phases {
		if _, ok := bands[p.Name]; ok {
			continue
		}
		c := inner[k%len(inner)]
		x0, x1 := x(p.Start), x(p.End)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%.0f" fill="%s" fill-opacity="0.6"/>`+"\n", x0, top, math.Max(1, x1-x0), plotH, c.fill)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="%s" font-style="italic">%s</text>`+"\n", (x0+x1)/2, top+int(plotH)-8-15*k, c.text, html.EscapeString(p.Name))
		k++
	}

	// Axes, grid and ticks.
	for n := 0; n <= yMax; n++ {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd" stroke-width="0.8"/>`+"\n", left, y(n), width-right, y(n))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%d</text>`+"\n", left-6, y(n)+4, n)
	}
	step := 5.0
	if secs > 120 {
		step = 20
	} else if secs > 60 {
		step = 10
	}
	for s := 0.0; s <= secs+1e-9; s += step {
		xs := x(time.Duration(s * float64(time.Second)))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#333"/>`+"\n", xs, top+plotH, xs, top+plotH+5)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%g</text>`+"\n", xs, top+plotH+18, s)
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%.0f" stroke="#333"/>`+"\n", left, top, left, top+plotH)
	fmt.Fprintf(&b, `<line x1="%d" y1="%.0f" x2="%d" y2="%.0f" stroke="#333"/>`+"\n", left, top+plotH, width-right, top+plotH)
	fmt.Fprintf(&b, `<text x="%.0f" y="%d" text-anchor="middle">time since start (s)</text>`+"\n", left+plotW/2, height-10)
	fmt.Fprintf(&b, `<text x="16" y="%.0f" text-anchor="middle" transform="rotate(-90 16 %.0f)">replicas</text>`+"\n", top+plotH/2, top+plotH/2)

	// The series, as step lines (a count holds until the next sample).
	series := []struct {
		name, color, dash string
		width             float64
		n                 func(Sample) int
	}{
		{"total (incl. starting, draining)", "#1f5fa8", "", 5, func(s Sample) int { return s.Total }},
		{"ready", "#2a9d2a", "", 2.2, func(s Sample) int { return s.Ready }},
		{"desired", "#e07b00", "5 3", 1.8, func(s Sample) int { return s.Desired }},
	}
	for i, sr := range series {
		var path strings.Builder
		for j, s := range r.Samples {
			if j == 0 {
				fmt.Fprintf(&path, "M%.1f %.1f", x(s.At), y(sr.n(s)))
				continue
			}
			fmt.Fprintf(&path, " H%.1f V%.1f", x(s.At), y(sr.n(s)))
		}
		dash := ""
		if sr.dash != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, sr.dash)
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="%.1f"%s/>`+"\n", path.String(), sr.color, sr.width, dash)
		ly := top + 10 + 20*i
		lx := width - right + 12
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="%.1f"%s/>`+"\n", lx, ly, lx+22, ly, sr.color, sr.width, dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11">%s</text>`+"\n", lx+26, ly+4, html.EscapeString(sr.name))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#555">%d requests, %d failed</text>`+"\n", width-right+12, top+10+20*len(series)+10, r.Sent, r.Failed)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("churn svg: %w", err)
	}
	return nil
}
