package crops

import (
	"math"
	"strings"
	"testing"
)

func TestBuiltinProfiles(t *testing.T) {
	for _, n := range []string{"apple", "citrus", "grape"} {
		p, err := Load(n)
		if err != nil {
			t.Fatal(n, err)
		}
		if p.ItemMass().Mean <= 0 {
			t.Fatal(n, "no mass")
		}
	}
	g, _ := Load("grape")
	if m := g.ItemMass(); math.Abs(m.Mean-162) > 1e-9 {
		t.Fatalf("grape cluster mass %v, want 90 x 1.8 = 162 g", m.Mean)
	}
}

func TestBadProfileNamesField(t *testing.T) {
	p := &Profile{Name: "x", Class: "x", Hierarchy: []string{"plant", "unit"}, Yield: Yield{Strategy: "magic"}}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "yield.strategy") {
		t.Fatalf("err %v", err)
	}
}

func TestHandCounts(t *testing.T) {
	hc, err := ReadHandCounts(strings.NewReader("plant_id,count,mean_mass_g\nB1-R1-P001, 120, 175.5\nB1-R1-P007,98,\n"))
	if err != nil || len(hc) != 2 || hc[0].Count != 120 || hc[0].MeanMassG != 175.5 || hc[1].MeanMassG != 0 {
		t.Fatalf("%+v %v", hc, err)
	}
	if _, err := ReadHandCounts(strings.NewReader("plant,n\nx,1\n")); err == nil {
		t.Fatal("wrong header accepted")
	}
	if _, err := ReadHandCounts(strings.NewReader("plant_id,count\nx,many\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("bad count: %v", err)
	}
}

func TestEstimateRecoversTruth(t *testing.T) {
	p, _ := Load("apple")
	// 40 plants of 100 apples, 60 % of each counted; 5 hand-counted.
	counted := map[string]int{}
	var hand []HandCount
	total := 0
	for i := 0; i < 40; i++ {
		id := string(rune('A'+i/26)) + string(rune('a'+i%26))
		c := 60 + (i%5 - 2) // a little spread
		counted[id] = c
		total += c
		if i%8 == 0 {
			hand = append(hand, HandCount{PlantID: id, Count: 100, MeanMassG: 180})
		}
	}
	e := EstimateYield(p, total, counted, hand, 40)
	trueKg := 40 * 100 * 0.18
	if math.Abs(e.YieldKg-trueKg)/trueKg > 0.05 {
		t.Fatalf("yield %.1f kg, truth %.1f", e.YieldKg, trueKg)
	}
	if !(e.YieldLowKg < trueKg && trueKg < e.YieldHighKg) || e.YieldHighKg-e.YieldLowKg <= 0 {
		t.Fatalf("interval [%.1f, %.1f] misses %.1f", e.YieldLowKg, e.YieldHighKg, trueKg)
	}
	if e.SamplePlants != 5 || !e.MassFromSamples || math.Abs(e.Visibility-0.6) > 0.03 {
		t.Fatalf("%+v", e)
	}
	// Without hand counts: the profile's prior visibility, no confidence
	// level, and a range from every item counted to half the prior.
	e = EstimateYield(p, total, counted, nil, 40)
	faceKg := float64(total) * 0.18
	if prior := p.Sampling.Visibility; e.Visibility != prior || math.Abs(e.YieldKg-faceKg/prior) > 1e-9 || e.Confidence != 0 ||
		e.YieldLowKg > faceKg || e.YieldHighKg < faceKg/(prior/2) || !strings.Contains(e.CalibrationError, "no plant hand counted") {
		t.Fatalf("uncalibrated %+v", e)
	}
	// One sample plant: its ratio, as uncertain as the profile's
	// plant-to-plant spread says (not a mass-only interval).
	e = EstimateYield(p, total, counted, hand[:1], 40)
	rel := (e.YieldHighKg - e.YieldKg) / e.YieldKg
	if e.Confidence != 0.95 || e.CalibrationError != "" || rel < 1.96*p.Sampling.VisibilityCV {
		t.Fatalf("one sample plant: %+v (half-width %.3f of the estimate)", e, rel)
	}
}
