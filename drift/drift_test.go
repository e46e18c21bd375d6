package drift

import (
	"math"
	"math/rand/v2"
	"testing"
)

func normal(rng *rand.Rand, n int, mu, sd float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = mu + sd*rng.NormFloat64()
	}
	return sorted(out)
}

func TestKSAndPSI(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	ref := normal(rng, 2000, 0.5, 0.1)
	same := normal(rng, 300, 0.5, 0.1)
	shifted := normal(rng, 300, 0.2, 0.1)
	if ks := KS(ref, same); ks > 0.12 {
		t.Errorf("KS of samples of one distribution %.3f, want small", ks)
	}
	if psi := PSI(ref, same); psi > 0.1 {
		t.Errorf("PSI of samples of one distribution %.3f, want < 0.1", psi)
	}
	if ks := KS(ref, shifted); ks < 0.8 {
		t.Errorf("KS of a shift by 3 sd %.3f, want near 1", ks)
	}
	if psi := PSI(ref, shifted); psi < 1 {
		t.Errorf("PSI of a shift by 3 sd %.3f, want large", psi)
	}
	// Counts tie: equal discrete samples are no drift at all.
	if ks := KS([]float64{0, 1, 1, 2, 2, 2}, []float64{0, 1, 1, 2, 2, 2}); ks != 0 {
		t.Errorf("KS of equal samples with ties %v, want 0", ks)
	}
	if !math.IsNaN(KS(nil, ref)) || !math.IsNaN(PSI(ref, nil)) {
		t.Error("empty samples must give NaN, not a number that looks like no drift")
	}
}

func TestMonitorPerCamera(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	rec := NewRecorder(0)
	frame := func(bright float64) Frame {
		return Frame{Scores: []float64{0.8 + 0.1*rng.Float64(), 0.6 + 0.2*rng.Float64()}, BoxSizes: []float64{0.05, 0.06},
			Brightness: bright + 0.02*rng.NormFloat64(), Contrast: 0.2 + 0.01*rng.NormFloat64()}
	}
	for range 500 {
		rec.Add(frame(0.5))
	}
	m := NewMonitor(Config{Window: 40, ReportEvery: 20}, rec.Reference())
	var sums int
	for i := range 80 {
		if _, ok := m.Observe("a", int64(i), frame(0.5)); ok {
			sums++
		}
		dark := 0.5
		if i >= 40 {
			dark = 0.15
		}
		m.Observe("b", int64(i), frame(dark))
	}
	if sums != 4 {
		t.Errorf("camera a: %d summaries of 80 frames every 20, want 4", sums)
	}
	st := m.Stats()
	ks := func(cam string) float64 {
		for _, s := range st[cam] {
			if s.Feature == Brightness {
				return s.KS
			}
		}
		t.Fatalf("no brightness statistic for %s: %v", cam, st[cam])
		return 0
	}
	if a, b := ks("a"), ks("b"); a > 0.3 || b < 0.9 {
		t.Errorf("brightness KS: steady camera %.2f (want < 0.3), darkened camera %.2f (want > 0.9)", a, b)
	}
}
