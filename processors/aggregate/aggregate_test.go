package aggregate

import (
	"encoding/json"
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
	// A season's block: a million fruit from one camera. The window keeps
	// the latest 16k ids (replays come only from the last few hundred
	// frames) and its table record stays a few KB.
	big := newSeen()
	for i := 0; i < 1_000_000; i++ {
		if !big.add("cam-9-"+strconv.Itoa(i), "cam-9") {
			t.Fatalf("object %d seen before", i)
		}
	}
	for i := 1_000_000 - 10_000; i < 1_000_000; i += 7 {
		if big.add("cam-9-"+strconv.Itoa(i), "cam-9") {
			t.Fatalf("replayed recent object %d counted again", i)
		}
	}
	b, err := json.Marshal(big)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 3_000 {
		t.Fatalf("seen set of %d bytes for one camera", len(b))
	}
	var back seen
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.add("cam-9-999999", "cam-9") || !back.add("cam-9-1000000", "cam-9") {
		t.Fatal("the window does not survive the table round trip")
	}
}

// A table written by the previous build (state version 2, whole bitsets
// from id 0) is read, and its objects stay seen.
func TestStateV2Reads(t *testing.T) {
	old := `{"Version":2,"Seen":{"cameras":{"cam-1":[40]}},"Units":2,"PerRow":{"B1-R1":2},"PerPlant":{}}`
	v, err := stateCodec{}.Decode([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	st := v.(*blockState)
	if st.Version != stateVersion || st.Units != 2 {
		t.Fatalf("%+v", st)
	}
	// 40 = bits 3 and 5.
	if st.Seen.add("cam-1-3", "cam-1") || st.Seen.add("cam-1-5", "cam-1") || !st.Seen.add("cam-1-4", "cam-1") {
		t.Fatal("version 2 ids not carried over")
	}
	if _, err := (stateCodec{}).Decode([]byte(`{"Version":1}`)); err == nil {
		t.Fatal("state version 1 accepted")
	}
}
