package fieldrun

import (
	"fmt"
	"math"
	"testing"

	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/simulator"
)

// synthField has plants whose camera share is share[i] of their items.
func synthField(seed uint64, items []int, share []float64) *FieldSample {
	fs := &FieldSample{Seed: seed, Counted: map[string]int{}, Hand: map[string]crops.HandCount{}}
	var ids []string
	for i, n := range items {
		id := fmt.Sprintf("R1-P%03d", i+1)
		ids = append(ids, id)
		c := int(math.Round(share[i] * float64(n)))
		fs.Counted[id] = c
		fs.Total += c
		fs.Visible += c
		fs.Hand[id] = crops.HandCount{PlantID: id, Count: n, MeanMassG: 100}
		fs.TrueKg += float64(n) * 0.1
	}
	fs.Rows = []crops.RowPlants{{Row: "R1", Plants: len(items)}}
	fs.PlantIDs = [][]string{ids}
	return fs
}

// Every plant seen at the same share: every estimator is exact, every
// interval holds the truth; a field where the sampled plants are seen
// better than the rest misses by the sampling alone.
func TestCoverageCountsFields(t *testing.T) {
	p := &crops.Profile{Name: "t", Yield: crops.Yield{Strategy: "units", UnitMassG: &crops.Dist{Mean: 100, SD: 1}}}
	items := []int{40, 50, 60, 70, 80, 90, 100, 110, 120, 130}
	even := make([]float64, len(items))
	for i := range even {
		even[i] = 0.5
	}
	// Plants 1, 3, 5, 7, 9 (the spread sample of 5 from 10) seen at 0.8,
	// the rest at 0.2: the sample says 0.8, the block is about 0.5.
	skew := make([]float64, len(items))
	for i := range skew {
		skew[i] = 0.2
		if i%2 == 1 {
			skew[i] = 0.8
		}
	}
	rep := Coverage(p, []*FieldSample{synthField(1, items, even), synthField(2, items, skew)}, 5, 0)
	if rep.Ratio.Fields != 2 || rep.Ratio.Covered != 1 || rep.RatioNoFPC.Covered != 1 {
		t.Fatalf("%+v", rep)
	}
	if rep.Ratio.RMSErrorPct < 20 {
		t.Fatalf("RMS error %v %%: the skewed field's error is lost", rep.Ratio.RMSErrorPct)
	}
}

// A tiny field through the simulator and the tracker: objects land on
// plants, and the count is near the visible units.
func TestSimulateTruthFieldPlacesObjects(t *testing.T) {
	if testing.Short() {
		t.Skip("renders a field")
	}
	sc, err := simulator.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	sc.Rows, sc.PlantsPerRow, sc.Seed = 1, 3, 99
	fs, err := SimulateTruthField(sc, track.Params{})
	if err != nil {
		t.Fatal(err)
	}
	placed := 0
	for _, c := range fs.Counted {
		placed += c
	}
	if fs.Visible == 0 || math.Abs(float64(fs.Total-fs.Visible)) > 0.1*float64(fs.Visible) || placed < fs.Total*9/10 || len(fs.Counted) != 3 {
		t.Fatalf("visible %d, counted %d, placed %d on %d plants", fs.Visible, fs.Total, placed, len(fs.Counted))
	}
}
