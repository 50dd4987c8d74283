package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dynaseal/dynaseal/table/job"
)

// progressView shows a job's progress on stderr: a bar redrawn in place on
// a terminal, plain lines otherwise (logs, CI), or nothing. Segments of one
// process report from several goroutines.
type progressView struct {
	mu    sync.Mutex
	w     io.Writer
	bar   bool
	kind  string
	total int64 // estimated items (0: unknown)
	segs  map[int]job.Progress
	drawn bool
}

// newProgress picks the mode: --progress auto is a bar when stderr is a
// terminal. total is the estimated item count of this run (0: unknown).
func (c *cli) newProgress(mode, kind string, total int64) (*progressView, error) {
	pv := &progressView{w: c.errw, kind: kind, total: total, segs: map[int]job.Progress{}}
	switch mode {
	case "none":
		return nil, nil
	case "bar":
		pv.bar = true
	case "lines":
	case "auto":
		pv.bar = c.isTerminal()
	default:
		return nil, usagef("--progress must be auto, bar, lines or none")
	}
	return pv, nil
}

// every is how often a segment reports: often for a bar, seldom for logs.
func (p *progressView) every() time.Duration {
	if p.bar {
		return 200 * time.Millisecond
	}
	return 10 * time.Second
}

func (p *progressView) report(pr job.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.segs[pr.Segment] = pr
	if p.bar {
		p.drawBar()
		return
	}
	state := "running"
	if pr.Done {
		state = "done"
	}
	fmt.Fprintf(p.w, "%s: segment %d/%d %s: %d items (%s), %.0f items/s, %s\n",
		p.kind, pr.Segment, pr.Segments, state, pr.Scanned, countsText(pr.Counts), pr.Rate, pr.Elapsed.Round(time.Second))
}

// drawBar redraws the one-line bar over the previous one.
func (p *progressView) drawBar() {
	var scanned int64
	var rate float64
	sum := job.Counts{}
	done := 0
	for _, pr := range p.segs {
		scanned += pr.Scanned
		rate += pr.Rate
		for k, v := range pr.Counts {
			sum[k] += v
		}
		if pr.Done {
			done++
		}
	}
	const width = 30
	line := fmt.Sprintf("%s %d items", p.kind, scanned)
	if p.total > 0 {
		frac := float64(scanned) / float64(p.total)
		if frac > 0.99 && done < len(p.segs) {
			frac = 0.99 // the total is DynamoDB's estimate
		}
		if done == len(p.segs) && done > 0 {
			frac = 1
		}
		frac = min(frac, 1)
		n := int(frac * width)
		line = fmt.Sprintf("%s [%s%s] %3.0f%% %d/~%d items", p.kind, strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, scanned, p.total)
	}
	line += fmt.Sprintf("  %s  %.0f/s", countsText(sum), rate)
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.drawn = true
}

// finish ends the bar's line.
func (p *progressView) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// countsText renders a job's counters (not the floors it keeps).
func countsText(c job.Counts) string {
	var parts []string
	keys := make([]string, 0, len(c))
	for k := range c {
		if k != "scanned" && !strings.ContainsAny(k, "/!") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}
