package crops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func testProfile(cv float64) *Profile {
	return &Profile{Name: "t", Class: "t", Hierarchy: []string{"plant", "unit"},
		Yield:    Yield{Strategy: "units", UnitMassG: &Dist{Mean: 100, SD: 10}},
		Sampling: Sampling{VisibilityCV: cv, Visibility: 0.5}}
}

func flat(n, c int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = c
	}
	return out
}

// The plan is the fewest plants that reach the target: one fewer does not.
func TestPlanSamplesIsTheFewest(t *testing.T) {
	p := testProfile(0.2)
	pl, err := PlanSamples(p, PlanInput{Counts: flat(200, 40), Target: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	if !pl.Reached || pl.HalfWidth > 0.05 || pl.Source != "crop profile prior" {
		t.Fatalf("%+v", pl)
	}
	if prev := HalfWidth(p, pl.CV, pl.Samples-1, 200, 80); prev <= 0.05 {
		t.Fatalf("%d plants would do (%v), plan says %d", pl.Samples-1, prev, pl.Samples)
	}
	// Roughly (1.96 * 0.2 / 0.05)^2 = 61 before the finite population and
	// mass terms; the correction for 200 plants brings it under that.
	if pl.Samples < 40 || pl.Samples > 70 {
		t.Fatalf("%d samples", pl.Samples)
	}
}

// Uneven plants widen the prior; hand counts replace it.
func TestPlanSamplesSources(t *testing.T) {
	p := testProfile(0.2)
	uneven := append(flat(50, 10), flat(50, 70)...)
	a, _ := PlanSamples(p, PlanInput{Counts: flat(100, 40), Target: 0.1})
	b, _ := PlanSamples(p, PlanInput{Counts: uneven, Target: 0.1})
	if b.CV <= a.CV || b.Samples <= a.Samples {
		t.Fatalf("uneven plants: CV %v samples %d, even: %v %d", b.CV, b.Samples, a.CV, a.Samples)
	}
	// Hand counts agreeing exactly with the camera (share 0.5 on every
	// plant): no visibility spread, the mass term alone decides: with 2
	// plants t(1) = 12.7 times 0.1/sqrt(2*80) is just over 0.1, with 3
	// plants 4.30 times 0.1/sqrt(3*80) = 0.028.
	hand := []HandCount{{PlantID: "a", Count: 80}, {PlantID: "b", Count: 60}, {PlantID: "c", Count: 100}}
	counted := map[string]int{"a": 40, "b": 30, "c": 50}
	h, err := PlanSamples(p, PlanInput{Counts: flat(100, 40), Target: 0.1, Hand: hand, HandCounted: counted})
	if err != nil || h.CV != 0 || h.Source != "hand counts of 3 plants" || h.Samples != 3 {
		t.Fatalf("%+v %v", h, err)
	}
	if _, err := PlanSamples(testProfile(0), PlanInput{Counts: flat(10, 4), Target: 0.1}); err == nil {
		t.Fatal("a profile without a prior and no hand counts gave a plan")
	}
}

// The plan checked by simulation without rendering: plants whose camera
// share varies with the prior's CV, the planned number of plants spread
// along the rows, the ratio estimate with the finite population
// correction; the estimate must land within the target in about 95 % of
// fields.
func TestPlanHoldsBySimulation(t *testing.T) {
	p := testProfile(0.2)
	p.Yield.UnitMassG.SD = 0.001 // the visibility alone
	rng := rand.New(rand.NewPCG(7, 7))
	const fields, N = 400, 120
	within := 0
	var plan Plan
	for range fields {
		hand := make([]HandCount, N)
		counts := make([]int, N)
		total, truth := 0, 0
		for i := range N {
			items := 40 + rng.IntN(40)
			vis := min(max(0.5*(1+0.2*rng.NormFloat64()), 0.05), 1)
			c := int(math.Round(vis * float64(items)))
			hand[i] = HandCount{PlantID: fmt.Sprint(i), Count: items, MeanMassG: 100}
			counts[i] = c
			total += c
			truth += items
		}
		var err error
		plan, err = PlanSamples(p, PlanInput{Counts: counts, Target: 0.1})
		if err != nil {
			t.Fatal(err)
		}
		var hs []HandCount
		counted := map[string]int{}
		for _, rp := range SpreadPlants([]RowPlants{{Row: "r", Plants: N}}, plan.Samples) {
			hs = append(hs, hand[rp[1]])
			counted[hand[rp[1]].PlantID] = counts[rp[1]]
		}
		e := EstimateYield(p, total, counted, hs, N)
		if math.Abs(e.UnitsEstimated/float64(truth)-1) <= 0.1 {
			within++
		}
	}
	share := float64(within) / fields
	if share < 0.91 || share > 0.99 {
		t.Fatalf("plan of %d plants: within ±10 %% in %.3f of fields, want about 0.95", plan.Samples, share)
	}
}

func TestSpreadPlants(t *testing.T) {
	got := SpreadPlants([]RowPlants{{"R1", 10}, {"R2", 10}}, 4)
	want := [][2]int{{0, 2}, {0, 7}, {1, 2}, {1, 7}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%v, want %v", got, want)
	}
	if n := len(SpreadPlants([]RowPlants{{"R1", 3}}, 10)); n != 3 {
		t.Fatalf("%d plants from a row of 3", n)
	}
}

// Hand counts exactly linear in camera counts: the regression recovers the
// block's items with no error.
func TestRegressionYieldExact(t *testing.T) {
	counted := map[string]int{"a": 10, "b": 20, "c": 30, "d": 25}
	var hand []HandCount
	for id, c := range counted {
		hand = append(hand, HandCount{PlantID: id, Count: 2*c + 3})
	}
	// 10 plants, camera total 200: items = 10*3 + 2*200.
	items, rel, df, ok := RegressionYield(200, counted, hand, 10)
	if !ok || math.Abs(items-430) > 1e-9 || rel > 1e-12 || df != 2 {
		t.Fatalf("%v %v %v %v", items, rel, df, ok)
	}
}

// Hand counting every plant leaves no visibility error.
func TestEstimateYieldFinitePopulation(t *testing.T) {
	p := testProfile(0.2)
	hand := []HandCount{{PlantID: "a", Count: 80}, {PlantID: "b", Count: 60}}
	counted := map[string]int{"a": 30, "b": 40}
	if e := EstimateYield(p, 70, counted, hand, 2); e.VisibilitySE != 0 {
		t.Fatalf("every plant counted, SE %v", e.VisibilitySE)
	}
	a, b := EstimateYield(p, 70, counted, hand, 0), EstimateYield(p, 70, counted, hand, 4)
	if !(b.VisibilitySE < a.VisibilitySE) || math.Abs(b.VisibilitySE-a.VisibilitySE*math.Sqrt(0.5)) > 1e-12 {
		t.Fatalf("SE %v with half the block counted, %v unknown block", b.VisibilitySE, a.VisibilitySE)
	}
}
