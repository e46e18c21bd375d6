// Package stage is what every stage of the flow shows the process running it:
// a name, a blocking Run, and its counters for metrics and the live view.
package stage

import (
	"context"

	"github.com/cropstream/cropstream/latency"
)

// Stage is one stage of the flow: detect, track, aggregate or the sink.
type Stage interface {
	// Name is the stage's name as --stages takes it; it also labels the
	// stage's profiles, metrics and dead letters.
	Name() string
	// Run processes until ctx ends or the stage fails, and returns only after
	// the goroutines it started have exited.
	Run(ctx context.Context) error
	// Counters is a snapshot of the stage's counters, safe while it runs.
	Counters() Counters
}

// Counters are the counters every stage keeps.
type Counters struct {
	// In is records consumed, Out records produced (rows stored, for the
	// sink), DeadLetters records sent to the dead-letter topic.
	In, Out, DeadLetters int64
	// Progress is what the stage has finished in its own unit, as the live
	// view shows it: frames for detect and track, objects counted for
	// aggregate, rows for the sink.
	Progress int64
}

// Timed is a stage that keeps latency histograms (by what they time, e.g.
// "capture_to_detected", and lane); metrics exports them for p95/p99 queries.
type Timed interface {
	Latencies() map[latency.Key]*latency.Histogram
}
