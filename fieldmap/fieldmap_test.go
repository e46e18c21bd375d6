package fieldmap

import (
	"os"
	"strings"
	"testing"

	"github.com/cropstream/cropstream/schema"
)

func TestParseDemoFarm(t *testing.T) {
	b, err := os.ReadFile("../deploy/demo/farm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 1 || blocks[0].BlockId != "B1" || blocks[0].FieldId != "F1" || len(blocks[0].Rows) != 2 ||
		blocks[0].Rows[1].RowId != "B1-R2" || blocks[0].Rows[1].Plants != 20 || blocks[0].Rows[1].PlantSpacingM != 1.5 {
		t.Fatalf("%v", blocks)
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"fields:\n  - id: F1\n    blocks:\n      - id: B1\n        crop: kiwi\n        row_count: 1\n        plants_per_row: 3\n        plant_spacing_m: 1\n", `line 4: block "B1": crop profile kiwi`},
		{"fields:\n  - id: F1\n    blocks:\n      - id: B1\n        crop: apple\n", `line 4: block "B1": no rows`},
		{"fields:\n  - id: F1\n    blocks:\n      - id: B1\n        crop: apple\n        rows:\n          - {id: R1, plants: 3, plant_spacing_m: -1}\n", "plant spacing -1 m"},
		{"fields:\n  - id: F1\n    blocks:\n      - id: B1\n        crop: apple\n        row_count: 1\n        plants_per_row: 3\n        plant_spacing_m: 1\n      - id: B1\n        crop: apple\n        row_count: 1\n        plants_per_row: 3\n        plant_spacing_m: 1\n", `line 9: block "B1": listed twice`},
		{"fields:\n  - id: F1\n    blokcs: []\n", "field blokcs not found"},
	} {
		_, err := Parse([]byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

func TestPlantIndex(t *testing.T) {
	r := &schema.FieldRow{RowId: "B1-R1", Plants: 4, PlantSpacingM: 2, StartM: 10}
	at := func(x float64) *float64 { return &x }
	for _, c := range []struct {
		pos  *float64
		want int
		ok   bool
	}{
		{at(10), 0, true}, {at(11.9), 0, true}, {at(12), 1, true}, {at(17.9), 3, true},
		{at(18.5), 3, true},                   // just past the last plant: clamped
		{at(9), 0, true},                      // within a plant before the start: the first
		{at(3), 0, false}, {at(30), 0, false}, // off the row
		{nil, 0, false},
	} {
		i, ok := PlantIndex(r, c.pos)
		if i != c.want || ok != c.ok {
			t.Errorf("at %v: %d %v, want %d %v", *c.pos, i, ok, c.want, c.ok)
		}
	}
}

func TestHandCountsMergeAndCheck(t *testing.T) {
	fb := &schema.FieldBlock{BlockId: "B1", Crop: "apple", Rows: []*schema.FieldRow{{RowId: "B1-R1", Plants: 10, PlantSpacingM: 1}}}
	first, err := HandCountsRecord("B1", "", strings.NewReader("plant_id,count,mean_mass_g\nB1-R1-P001,10,150\nB1-R1-P004,12,\n"), nil, fb)
	if err != nil {
		t.Fatal(err)
	}
	second, err := HandCountsRecord("B1", "", strings.NewReader("plant_id,count\nB1-R1-P004,14\nB1-R1-P009,3\n"), first, fb)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint32{}
	for _, p := range second.Plants {
		got[p.PlantId] = p.Count
	}
	if len(got) != 3 || got["B1-R1-P001"] != 10 || got["B1-R1-P004"] != 14 || got["B1-R1-P009"] != 3 {
		t.Fatalf("merged %v", got)
	}
	for _, bad := range []string{"B1-R2-P001", "B1-R1-P011", "tree-7"} {
		if _, err := HandCountsRecord("B1", "", strings.NewReader("plant_id,count\n"+bad+",1\n"), nil, fb); err == nil {
			t.Errorf("plant %s accepted", bad)
		}
	}
}
