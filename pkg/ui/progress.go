package ui

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Outcome of a finished item, which picks its style.
type Outcome int

// Outcomes of a progress item.
const (
	ProgressOK Outcome = iota
	ProgressSkipped
	ProgressFailed
)

// Progress shows a long copy: on a terminal, one bar of bytes and items
// redrawn in place with finished items printed above it; elsewhere only one
// line per finished item.
type Progress struct {
	w     io.Writer
	s     *Styles
	tty   bool
	items int
	unit  string

	mu       sync.Mutex
	total    int64
	done     int64
	finished int
	drawn    bool
	last     time.Time
	start    time.Time
}

// NewProgress returns a display for items things on w.
func NewProgress(w io.Writer, s *Styles, tty bool, items int) *Progress {
	return &Progress{w: w, s: s, tty: tty, items: items, unit: "images", start: time.Now()}
}

// SetItems sets the number of items expected and what they are
// ("blobs"), for a display that learns them late.
func (p *Progress) SetItems(items int, unit string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.items, p.unit = items, unit
	p.draw(true)
}

// Tick counts one finished item without printing a line for it.
func (p *Progress) Tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finished++
	p.draw(false)
}

// AddTotal grows the number of bytes expected.
func (p *Progress) AddTotal(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total += n
	p.draw(false)
}

// Advance records n more bytes done.
func (p *Progress) Advance(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	p.draw(false)
}

// Done prints one finished item.
func (p *Progress) Done(o Outcome, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finished++
	p.clear()
	style := p.s.OK
	switch o {
	case ProgressSkipped:
		style = p.s.Faint
	case ProgressFailed:
		style = p.s.Bad
	}
	fmt.Fprintln(p.w, style.Render(line))
	p.draw(true)
}

// Close removes the bar.
func (p *Progress) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}

func (p *Progress) clear() {
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

const barWidth = 30

func (p *Progress) draw(force bool) {
	if !p.tty || (!force && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	frac := 0.0
	if p.total > 0 {
		frac = min(float64(p.done)/float64(p.total), 1)
	}
	fill := int(frac * barWidth)
	bar := p.s.OK.Render(strings.Repeat("█", fill)) + p.s.Faint.Render(strings.Repeat("░", barWidth-fill))
	fmt.Fprintf(p.w, "\r\033[K%s %d/%d %s  %s/%s  %s", bar, p.finished, p.items, p.unit,
		Bytes(p.done), Bytes(p.total), time.Since(p.start).Round(time.Second))
	p.drawn = true
}

// Bytes formats a byte count for people: 512 B, 1.5 MB, 2.0 GB.
func Bytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
