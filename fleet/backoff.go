package fleet

import (
	"math/rand/v2"
	"time"
)

// Backoff is capped exponential backoff with full jitter: each wait is
// uniform in [Initial*2^n / 2, min(Max, Initial*2^n)], so cameras that failed
// together (a farm's uplink dropped) do not all knock again at once.
type Backoff struct {
	// Initial is the first wait's upper bound; default 500ms.
	Initial time.Duration
	// Max caps every wait; default 30s.
	Max time.Duration
	n   int
}

func (b *Backoff) defaults() {
	if b.Initial <= 0 {
		b.Initial = 500 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
}

// Next is the wait before the next attempt.
func (b *Backoff) Next() time.Duration {
	b.defaults()
	d := b.Max
	if b.n < 62 {
		if e := b.Initial << b.n; e > 0 && e < b.Max {
			d = e
		}
	}
	b.n++
	// Half fixed, half random: never a burst of immediate retries.
	return d/2 + rand.N(d/2+1)
}

// Reset starts over after a connection that worked.
func (b *Backoff) Reset() { b.n = 0 }
