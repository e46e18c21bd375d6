package fleet

import (
	"testing"
	"time"
)

func TestBackoffGrowsCapsAndJitters(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	var waits []time.Duration
	for i := 0; i < 40; i++ {
		waits = append(waits, b.Next())
	}
	for i, w := range waits {
		ceil := min(time.Second, 100*time.Millisecond<<min(i, 20))
		if w < ceil/2 || w > ceil {
			t.Fatalf("wait %d = %s, want within [%s, %s]", i, w, ceil/2, ceil)
		}
	}
	distinct := map[time.Duration]bool{}
	for _, w := range waits[10:] {
		distinct[w] = true
	}
	if len(distinct) < 10 {
		t.Fatalf("capped waits not jittered: %v", waits[10:])
	}
	b.Reset()
	if w := b.Next(); w > 100*time.Millisecond {
		t.Fatalf("after Reset wait %s, want <= 100ms", w)
	}
}
