package detect

import (
	"sync/atomic"
	"time"
)

// LatencyBuckets are the upper bounds, in seconds, of the latency
// histogram: from a GPU batch to a slow CPU one, so an alert on the p95 has
// buckets on both sides of any threshold an operator picks.
var LatencyBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Latency is a histogram of how long frames spend in the stage: from the
// poll that returned them to their outputs acknowledged and offsets
// committed. Atomic counters, so the batch path takes no lock.
type Latency struct {
	counts [11]atomic.Int64 // per bucket of LatencyBuckets, then +Inf
	sumNs  atomic.Int64
	n      atomic.Int64
}

// Observe records n frames that took d each.
func (l *Latency) Observe(d time.Duration, n int) {
	s := d.Seconds()
	i := len(LatencyBuckets)
	for k, b := range LatencyBuckets {
		if s <= b {
			i = k
			break
		}
	}
	l.counts[i].Add(int64(n))
	l.sumNs.Add(int64(d) * int64(n))
	l.n.Add(int64(n))
}

// Snapshot returns cumulative counts per bucket (as Prometheus wants them),
// the count and the sum in seconds.
func (l *Latency) Snapshot() (buckets map[float64]uint64, count uint64, sum float64) {
	buckets = map[float64]uint64{}
	var cum int64
	for k, b := range LatencyBuckets {
		cum += l.counts[k].Load()
		buckets[b] = uint64(cum)
	}
	return buckets, uint64(l.n.Load()), float64(l.sumNs.Load()) / 1e9
}
