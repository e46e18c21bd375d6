package track

import "testing"

// Objects the detector scores from 0.45 to 0.93, of which those at 0.73 and
// above are truly visible: the calibrated count score of their class falls
// between the two groups, and counts exactly the visible ones; a class with
// no visible object is left uncalibrated.
func TestCalibrateCountScores(t *testing.T) {
	objs := background(25)
	cam := func(i int) float64 { return float64(i) * 20 }
	score := func(k, i int) float64 { return 0.45 + 0.02*float64(k) }
	fs := frames(objs, 60, cam, score)
	visible := 0
	for k := range objs {
		if score(k, 0) >= 0.73-1e-9 && seenAtLeast(objs[k:k+1], 60, cam, 3) == 1 {
			visible++
		}
	}
	streams := []Labelled{{Frames: fs, Visible: []int{visible, 0}}}
	got := CalibrateCountScores(Params{}, streams, 2)
	if got[0] <= 0.70 || got[0] > 0.73 || got[1] != 0 {
		t.Fatalf("count scores %v, want class 0 in (0.70, 0.73] and class 1 uncalibrated", got)
	}
	if n := CountByClass(Params{CountScores: got}, streams, 2); n[0] != visible || n[1] != 0 {
		t.Fatalf("at the calibrated scores counted %v, want [%d 0]", n, visible)
	}
}
