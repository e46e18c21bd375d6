package aggregate

import (
	"math"
	"testing"

	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/schema"
)

// TestDecodeStateView: the view of a block shows the running window's
// counts per row and plant, and its estimate is the one the stage emits: a
// provisional one while the window runs, the final one once it closed.
func TestDecodeStateView(t *testing.T) {
	p, err := New(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fb := &schema.FieldBlock{FieldId: "F", BlockId: "B", Crop: "apple", Rows: []*schema.FieldRow{
		{RowId: "B-R1", Plants: 3, PlantSpacingM: 1}, {RowId: "B-R2", Plants: 3, PlantSpacingM: 1}}}
	st := &blockState{Version: stateVersion}
	st.init()
	st.Passes["cam/B-R1"] = true
	for i, plant := range []string{"B-R1-P001", "B-R1-P001", "B-R1-P003", "B-R2-P002"} {
		o := &schema.CountedObject{ObjectId: "cam-" + string(rune('1'+i)), CameraId: "cam", BlockId: "B", RowId: plant[:4], PlantId: plant,
			FirstSeenUnixNs: int64(10 + i), LastSeenUnixNs: int64(20 + i)}
		if !p.count(st, o, fb) {
			t.Fatalf("object %s not counted", o.ObjectId)
		}
	}
	st.Hand = []crops.HandCount{{PlantID: "B-R1-P001", Count: 4}}
	raw, err := stateCodec{}.Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	v, err := DecodeState(raw)
	if err != nil {
		t.Fatal(err)
	}
	if v.Units != 4 || v.PerRow["B-R1"] != 3 || v.PerRow["B-R2"] != 1 || len(v.Plants["B-R1"]) != 3 || v.Plants["B-R1"][0] != 2 || v.Plants["B-R2"][1] != 1 {
		t.Errorf("running window viewed as %+v", v)
	}
	if len(v.PassesRunning) != 1 || v.Last != nil || v.SamplePlants != 1 {
		t.Errorf("passes %v, last %v, samples %d", v.PassesRunning, v.Last, v.SamplePlants)
	}
	est, err := v.Estimate("B", fb, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := p.estimate("B", st, fb, st.window(), "x")
	if est == nil || est.Final || est.UnitsCounted != 4 || est.YieldKg != want.YieldKg || est.VisibilityFactor != 0.5 {
		t.Errorf("provisional estimate %+v, the stage's %+v", est, want)
	}

	// The window closes (as final does, without its emit): the view shows
	// it as the last one, and its final estimate.
	w := st.window()
	st.Last = &w
	st.Units, st.PerRow, st.Plants, st.Passes = 0, map[string]int{}, map[string]plantCounts{}, map[string]bool{}
	raw, _ = stateCodec{}.Encode(st)
	if v, err = DecodeState(raw); err != nil {
		t.Fatal(err)
	}
	if v.Units != 0 || v.Last == nil || v.Last.Units != 4 || v.Last.Plants["B-R1"][2] != 1 {
		t.Errorf("closed window viewed as %+v (last %+v)", v, v.Last)
	}
	if est, _ = v.Estimate("B", fb, nil); est == nil || !est.Final || est.UnitsCounted != 4 || est.YieldKg != want.YieldKg {
		t.Errorf("final estimate %+v, want %.3f kg of 4 units", est, want.YieldKg)
	}
}

// The stage's interval takes the finite population correction from the
// block's size in the field map: with every plant hand counted, only the
// item mass is left unknown; an unmapped block gets no correction.
func TestEstimateFinitePopulation(t *testing.T) {
	p, err := New(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fb := &schema.FieldBlock{FieldId: "F", BlockId: "B", Crop: "apple", Rows: []*schema.FieldRow{{RowId: "B-R1", Plants: 3, PlantSpacingM: 1}}}
	st := &blockState{Version: stateVersion}
	st.init()
	seen := map[string]int{"B-R1-P001": 4, "B-R1-P002": 2, "B-R1-P003": 3}
	n := 0
	for _, plant := range []string{"B-R1-P001", "B-R1-P002", "B-R1-P003"} {
		for range seen[plant] {
			n++
			o := &schema.CountedObject{ObjectId: "cam-" + string(rune('a'+n)), CameraId: "cam", BlockId: "B", RowId: "B-R1", PlantId: plant,
				FirstSeenUnixNs: int64(10 + n), LastSeenUnixNs: int64(20 + n)}
			if !p.count(st, o, fb) {
				t.Fatalf("object %s not counted", o.ObjectId)
			}
		}
	}
	st.Hand = []crops.HandCount{{PlantID: "B-R1-P001", Count: 8}, {PlantID: "B-R1-P002", Count: 5}, {PlantID: "B-R1-P003", Count: 4}}
	prof, err := crops.Load("apple")
	if err != nil {
		t.Fatal(err)
	}
	whole := p.estimate("B", st, fb, st.window(), "x")
	unmapped := p.estimate("B", st, nil, st.window(), "x")
	if whole.YieldKg != unmapped.YieldKg {
		t.Fatalf("yield %v mapped, %v unmapped: the correction moved the estimate", whole.YieldKg, unmapped.YieldKg)
	}
	relWhole := (whole.YieldKgHigh - whole.YieldKg) / whole.YieldKg
	m := prof.ItemMass()
	relMass := 1.96 * m.SD / m.Mean / math.Sqrt(9) // the item mass alone, 9 units
	relUnmapped := (unmapped.YieldKgHigh - unmapped.YieldKg) / unmapped.YieldKg
	// Mass-only uses 1.96; the sampled estimate the t quantile of 2 degrees
	// of freedom, 4.303.
	if math.Abs(relWhole-relMass*4.303/1.96) > 1e-9 || relUnmapped <= relWhole {
		t.Fatalf("half-widths: every plant counted %.4f (item mass alone %.4f), unmapped block %.4f", relWhole, relMass*4.303/1.96, relUnmapped)
	}
}
