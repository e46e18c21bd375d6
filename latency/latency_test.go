package latency

import (
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	if len(Buckets)+1 != len(Histogram{}.counts) {
		t.Fatalf("%d buckets, %d counters", len(Buckets), len(Histogram{}.counts))
	}
	var h Histogram
	for _, d := range []time.Duration{500 * time.Microsecond, 3 * time.Millisecond, 3 * time.Millisecond, 2 * time.Second, 10 * time.Minute, -time.Second} {
		h.Observe(d)
	}
	s := h.Snapshot()
	if s.Count != 6 || s.Cumulative[0.001] != 2 || s.Cumulative[0.004] != 4 || s.Cumulative[2.048] != 5 || s.Cumulative[Buckets[len(Buckets)-1]] != 5 {
		t.Fatalf("%+v", s)
	}
	if s.SumSeconds < 602 || s.SumSeconds > 602.01 {
		t.Fatalf("sum %.3f s", s.SumSeconds)
	}
}
