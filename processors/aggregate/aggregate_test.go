package aggregate

import (
	"strconv"
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

func TestSeenDedupsCompactly(t *testing.T) {
	s := newSeen()
	for _, c := range []struct {
		id, cam string
		new     bool
	}{
		{"cam-1-5", "cam-1", true},
		{"cam-1-5", "cam-1", false}, // replayed
		{"cam-1-700", "cam-1", true},
		{"cam-2-5", "cam-2", true}, // same track id, other camera
		{"cam-1-6", "cam-1", true},
		{"apple-x", "cam-1", true}, // not <camera>-<n>: kept as a string
		{"apple-x", "cam-1", false},
		{"cam-3-9", "", true}, // no camera on the record
		{"cam-3-9", "", false},
	} {
		if got := s.add(c.id, c.cam); got != c.new {
			t.Errorf("add(%s, %s) = %v, want %v", c.id, c.cam, got, c.new)
		}
	}
	// A season's block: a million fruit from one camera fit in 125 KB of bits.
	big := newSeen()
	for i := 0; i < 1_000_000; i++ {
		big.add("cam-9-"+strconv.Itoa(i), "cam-9")
	}
	if words := len(big.Cameras["cam-9"]); words*8 > 130_000 {
		t.Fatalf("%d words for a million objects", words)
	}
}
