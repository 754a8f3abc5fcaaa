package main

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// plotThroughput draws successful calls per second, one group of bars per
// system, one bar per closed-loop level.
func plotThroughput(res *results, path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Throughput: echo tools/call, closed loop, %d-byte text", res.PayloadSize)
	p.Y.Label.Text = "calls/s"
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(40)
	var labels []string
	for _, s := range res.Systems {
		labels = append(labels, strings.Replace(s.Label, ", ", "\n", 1))
	}
	w := vg.Points(60 / float64(max(len(res.Concurrency), 1)))
	for i, n := range res.Concurrency {
		vals := make(plotter.Values, len(res.Systems))
		for j, s := range res.Systems {
			for _, m := range s.Closed {
				if m.Clients == n {
					vals[j] = m.Throughput
				}
			}
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(i)
		bars.Offset = w * vg.Length(float64(i)-float64(len(res.Concurrency)-1)/2)
		p.Add(bars)
		p.Legend.Add(clients(n), bars)
	}
	p.NominalX(labels...)
	p.Add(plotter.NewGrid())
	p.Y.Min = 0
	p.Y.Max *= 1.1
	return p.Save(10*vg.Inch, 5*vg.Inch, path)
}

// plotLatency draws p50, p95, p99 and max, one line per system, on a
// log scale: pick chooses each system's run.
func plotLatency(res *results, title, path string, pick func(systemResult) *measure) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "latency, ms (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true
	p.NominalX("p50", "p95", "p99", "max")
	p.Add(plotter.NewGrid())
	for i, s := range res.Systems {
		m := pick(s)
		if m == nil {
			continue
		}
		pts := plotter.XYs{{X: 0, Y: m.P50}, {X: 1, Y: m.P95}, {X: 2, Y: m.P99}, {X: 3, Y: m.Max}}
		for k := range pts {
			pts[k].Y = math.Max(pts[k].Y, 0.001) // a log scale has no 0
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		c := plotutil.Color(i)
		line.Color, points.Color = c, c
		line.Width = vg.Points(1.5)
		points.Shape = plotutil.Shape(i)
		p.Add(line, points)
		p.Legend.Add(s.Label, line, points)
	}
	// Room above the lines for the legend.
	p.Y.Max *= 8
	return p.Save(7*vg.Inch, 5.5*vg.Inch, path)
}

func plots(res *results, dir string) ([]string, error) {
	files := []string{"throughput.png", "latency-open.png", "latency-peak.png"}
	if err := plotThroughput(res, filepath.Join(dir, files[0])); err != nil {
		return nil, err
	}
	open := fmt.Sprintf("Latency at %.0f calls/s (open loop, half of moat's peak)", res.OpenRate)
	if err := plotLatency(res, open, filepath.Join(dir, files[1]), func(s systemResult) *measure { return s.Open }); err != nil {
		return nil, err
	}
	peak := "Latency at each system's peak throughput (closed loop)"
	if err := plotLatency(res, peak, filepath.Join(dir, files[2]), func(s systemResult) *measure { return s.peakMeasure() }); err != nil {
		return nil, err
	}
	return files, nil
}

// clients names a number of clients.
func clients(n int) string {
	if n == 1 {
		return "1 client"
	}
	return fmt.Sprintf("%d clients", n)
}
