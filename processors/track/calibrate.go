package track

import "math"

// Labelled is a stream of frames with, per class, how many objects in it are
// truly visible from the camera (from a simulator or hand-labelled video).
type Labelled struct {
	Frames  []Frame
	Visible []int
}

// CalibrateCountScores finds, per class, the count score at which the
// tracker run with p counts as many objects on streams as are visible there:
// the score that makes the count unbiased on this data. Classes with no
// visible object get 0 (no calibration). The counted share falls as the
// score rises, so each class is a bisection; classes do not interact (a
// track counts by its own class's score), so all are bisected together.
func CalibrateCountScores(p Params, streams []Labelled, classes int) []float64 {
	lo, hi := make([]float64, classes), make([]float64, classes)
	want := make([]int, classes)
	for c := range classes {
		lo[c], hi[c] = 0.05, 0.99
		for _, s := range streams {
			if c < len(s.Visible) {
				want[c] += s.Visible[c]
			}
		}
	}
	p.CountScores = make([]float64, classes)
	for range 16 {
		for c := range classes {
			p.CountScores[c] = (lo[c] + hi[c]) / 2
		}
		got := CountByClass(p, streams, classes)
		for c := range classes {
			if got[c] > want[c] {
				lo[c] = p.CountScores[c]
			} else {
				hi[c] = p.CountScores[c]
			}
		}
	}
	// hi is the least score tried that did not count too many. Medians of
	// byte scores lie on a grid of 1/510: any score between the same two grid
	// points counts the same, so the middle one is returned, which survives
	// being written with three decimals.
	out := make([]float64, classes)
	for c := range classes {
		if want[c] > 0 {
			out[c] = (math.Floor(hi[c]*510) + 0.5) / 510
		}
	}
	return out
}

// CountByClass runs the tracker over each stream (ended, if it does not end
// itself) and returns how many objects of each class it counted.
func CountByClass(p Params, streams []Labelled, classes int) []int {
	got := make([]int, classes)
	for _, s := range streams {
		RunStream(p, s.Frames, func(_ string, ts []*Track) {
			for _, t := range ts {
				if t.Class >= 0 && t.Class < classes {
					got[t.Class]++
				}
			}
		})
	}
	return got
}
