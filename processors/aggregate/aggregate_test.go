package aggregate

import (
	"testing"

	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/schema"
)

func TestPlantOf(t *testing.T) {
	prof, _ := crops.Load("apple")
	p, err := New(Config{Blocks: map[string]Block{"B1": {Profile: prof, PlantSpacingM: 1.5, Plants: 20}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := func(x float64) *float64 { return &x }
	for _, c := range []struct {
		block string
		pos   *float64
		want  string
		ok    bool
	}{
		{"B1", at(0.1), "B1-R1-P001", true},
		{"B1", at(1.49), "B1-R1-P001", true},
		{"B1", at(1.5), "B1-R1-P002", true},
		{"B1", at(29.99), "B1-R1-P020", true},
		{"B1", at(31), "B1-R1-P020", true}, // past the last plant: clamped
		{"B1", nil, "", false},             // no position: counted, not placed
		{"B9", at(3), "", false},           // unknown block: no layout
	} {
		got, ok := p.plantOf(&schema.CountedObject{BlockId: c.block, RowId: "B1-R1", PositionM: c.pos})
		if got != c.want || ok != c.ok {
			t.Errorf("%s at %v: %q %v, want %q %v", c.block, c.pos, got, ok, c.want, c.ok)
		}
	}
	if _, err := New(Config{Blocks: map[string]Block{"B2": {}}}, nil); err == nil {
		t.Fatal("block without a profile accepted")
	}
}
