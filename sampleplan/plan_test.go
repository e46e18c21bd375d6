package sampleplan

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/schema"
)

func block() *schema.FieldBlock {
	return &schema.FieldBlock{FieldId: "F1", BlockId: "B1", Crop: "grape", Rows: []*schema.FieldRow{
		{RowId: "B1-R1", Plants: 20, PlantSpacingM: 1.2}, {RowId: "B1-R2", Plants: 20, PlantSpacingM: 1.2}}}
}

// objects puts n objects on every plant, by position (no plant id), and
// repeats the first one (a replay) and adds a control record.
func objects(n int) []*schema.CountedObject {
	var out []*schema.CountedObject
	for _, row := range []string{"B1-R1", "B1-R2"} {
		for p := range 20 {
			for k := range n {
				pos := (float64(p) + 0.5) * 1.2
				out = append(out, &schema.CountedObject{ObjectId: fmt.Sprintf("%s-%d-%d", row, p, k), BlockId: "B1", RowId: row, PositionM: &pos})
			}
		}
	}
	return append(out, out[0], &schema.CountedObject{BlockId: "B1", Control: "close-window"})
}

func TestBlockCountsPlacesByPosition(t *testing.T) {
	per, total, placed := BlockCounts(objects(3), block())
	if total != 120 || placed != 120 || per["B1-R2-P020"] != 3 || per["B1-R1-P001"] != 3 || len(per) != 40 {
		t.Fatalf("total %d placed %d %v", total, placed, per)
	}
}

func TestMakeFromPriorThenHandCounts(t *testing.T) {
	prof := &crops.Profile{Name: "grape", Yield: crops.Yield{Strategy: "units", UnitMassG: &crops.Dist{Mean: 160, SD: 40}},
		Sampling: crops.Sampling{VisibilityCV: 0.2, Visibility: 0.5}}
	r, err := Make(prof, block(), objects(12), nil, 0.15)
	if err != nil {
		t.Fatal(err)
	}
	if r.Source != "crop profile prior" || len(r.PlantsToAdd) != r.Samples || r.Samples < 3 || r.Samples > 40 {
		t.Fatalf("%+v", r)
	}
	// Spread: both rows get plants.
	var r1, r2 int
	for _, id := range r.PlantsToAdd {
		if id[:5] == "B1-R1" {
			r1++
		} else {
			r2++
		}
	}
	if r1 == 0 || r2 == 0 {
		t.Fatalf("plants %v not spread over both rows", r.PlantsToAdd)
	}
	// Three plants hand counted with a wide spread: the plan follows them,
	// and the plants to add skip them.
	hc := &schema.HandCounts{BlockId: "B1", Plants: []*schema.HandCount{
		{PlantId: "B1-R1-P004", Count: 12}, {PlantId: "B1-R1-P014", Count: 40}, {PlantId: "B1-R2-P010", Count: 24}}}
	h, err := Make(prof, block(), objects(12), hc, 0.15)
	if err != nil {
		t.Fatal(err)
	}
	if h.Source != "hand counts of 3 plants" || h.CV <= r.CV || h.Samples <= r.Samples {
		t.Fatalf("with hand counts %+v, prior %+v", h, r)
	}
	if len(h.PlantsToAdd) != h.Samples-3 {
		t.Fatalf("%d plants to add for a plan of %d with 3 counted", len(h.PlantsToAdd), h.Samples)
	}
	for _, id := range hc.Plants {
		if slices.Contains(h.PlantsToAdd, id.PlantId) {
			t.Fatalf("%s planned again", id.PlantId)
		}
	}
	if _, err := Make(prof, block(), nil, nil, 0.1); err == nil {
		t.Fatal("a plan without counts")
	}
}

func TestParseShare(t *testing.T) {
	for in, want := range map[string]float64{"5%": 0.05, "5 %": 0.05, "0.05": 0.05, "12.5": 0.125} {
		if got, err := ParseShare(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "x", "0", "100%", "-3%"} {
		if _, err := ParseShare(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// New plants fill the largest gaps the counted ones leave.
func TestMorePlantsFillsGaps(t *testing.T) {
	rows := []crops.RowPlants{{Row: "R1", Plants: 10}, {Row: "R2", Plants: 10}}
	done := map[string]bool{"R1-P001": true, "R1-P002": true}
	got := morePlants(rows, done, 4)
	// From plants 0 and 1 of 20: the farthest is the last (R2-P010), then
	// the middle of the gap between (index 10: R2-P001).
	if fmt.Sprint(got) != "[R2-P010 R2-P001]" {
		t.Fatalf("%v", got)
	}
}

// Before the camera has passed, the builtin grape profile's prior plans a
// 48-vine block: many more plants for ±5 % than for ±10 %, and the ±10 %
// plan near what eval coverage checked (13 plants, within ±10 % on 38 of 40
// fields).
func TestPriorPlanGrape(t *testing.T) {
	prof, err := crops.Load("grape")
	if err != nil {
		t.Fatal(err)
	}
	p10, err := Prior(prof, 48, 25*prof.Sampling.Visibility, 0.10)
	if err != nil {
		t.Fatal(err)
	}
	p5, err := Prior(prof, 48, 25*prof.Sampling.Visibility, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	if p10.Samples < 10 || p10.Samples > 16 || p5.Samples < 2*p10.Samples || !p10.Reached {
		t.Fatalf("±10 %%: %+v, ±5 %%: %+v", p10, p5)
	}
}
