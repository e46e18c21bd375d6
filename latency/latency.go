package latency

import (
	"sync/atomic"
	"time"
)

// Buckets are the upper bounds, in seconds, every histogram shares: 1 ms to
// about 65 s in doubling steps, so p95/p99 of a decode (milliseconds) and of
// capture-to-row (seconds) both land in resolved buckets.
var Buckets = func() []float64 {
	var b []float64
	for v := 0.001; v < 70; v *= 2 {
		b = append(b, v)
	}
	return b
}()

// Key names one of a stage's histograms: what it times and, where the stage
// keeps one per lane (detect: live, backfill), the lane.
type Key struct{ What, Lane string }

// Histogram counts observations per bucket. The zero value is ready; it is
// safe for concurrent use.
type Histogram struct {
	counts [18]atomic.Uint64 // len(Buckets)+1: the last is +Inf
	count  atomic.Uint64
	sumNs  atomic.Int64
}

// Observe records one duration (negative ones as zero: clocks of two
// machines can disagree).
func (h *Histogram) Observe(d time.Duration) {
	d = max(d, 0)
	s := d.Seconds()
	i := len(Buckets)
	for j, ub := range Buckets {
		if s <= ub {
			i = j
			break
		}
	}
	h.counts[i].Add(1)
	h.count.Add(1)
	h.sumNs.Add(int64(d))
}

// Snapshot is a histogram's state: cumulative counts per upper bound, as
// Prometheus wants them.
type Snapshot struct {
	Count      uint64
	SumSeconds float64
	Cumulative map[float64]uint64
}

// Snapshot reads the histogram.
func (h *Histogram) Snapshot() Snapshot {
	s := Snapshot{Cumulative: make(map[float64]uint64, len(Buckets))}
	var c uint64
	for i, ub := range Buckets {
		c += h.counts[i].Load()
		s.Cumulative[ub] = c
	}
	s.Count = c + h.counts[len(Buckets)].Load()
	s.SumSeconds = float64(h.sumNs.Load()) / 1e9
	return s
}
