package aggregate

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/cropstream/cropstream/fieldmap"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/stage/stagetest"
)

func TestPlantOf(t *testing.T) {
	fb := &schema.FieldBlock{BlockId: "B1", Crop: "apple", Rows: []*schema.FieldRow{{RowId: "B1-R1", Plants: 20, PlantSpacingM: 1.5}}}
	at := func(x float64) *float64 { return &x }
	for _, c := range []struct {
		fb    *schema.FieldBlock
		plant string
		pos   *float64
		want  string
		ok    bool
	}{
		{fb, "", at(0.1), "B1-R1-P001", true},
		{fb, "", at(1.49), "B1-R1-P001", true},
		{fb, "", at(1.5), "B1-R1-P002", true},
		{fb, "", at(29.99), "B1-R1-P020", true},
		{fb, "", at(31), "B1-R1-P020", true},         // past the last plant: clamped
		{fb, "", nil, "", false},                     // no position: counted, not placed
		{nil, "", at(3), "", false},                  // block not in the field map: no layout
		{nil, "B1-R1-P007", nil, "B1-R1-P007", true}, // the track stage placed it
	} {
		row, i, ok := plantOf(&schema.CountedObject{BlockId: "B1", RowId: "B1-R1", PlantId: c.plant, PositionM: c.pos}, c.fb)
		got := ""
		if ok {
			got = fieldmap.PlantID(row, i)
			if r, j, ok := parsePlantID(got); !ok || r != "B1-R1" || j != i {
				t.Errorf("%s parses as %q %d %v", got, r, j, ok)
			}
		}
		if got != c.want || ok != c.ok {
			t.Errorf("%v at %v: %q %v, want %q %v", c.plant, c.pos, got, ok, c.want, c.ok)
		}
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
	b, err := stateCodec{}.Encode(&blockState{Version: stateVersion, Seen: big, PerRow: map[string]int{}, Plants: map[string]plantCounts{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 4_000 {
		t.Fatalf("block state of %d bytes for one camera's million objects", len(b))
	}
	back := stagetest.Decoded[*blockState](t, stateCodec{}, b).Seen
	if back.add("cam-9-999999", "cam-9") || !back.add("cam-9-1000000", "cam-9") {
		t.Fatal("the window does not survive the table round trip")
	}
}

// A JSON table of state version 3 (id windows in base64) is read.
func TestStateV3Reads(t *testing.T) {
	// bits "CAAAAAAAAAA=" = the word 8 = id 3.
	old := `{"Version":3,"Seen":{"windows":{"cam-1":{"base":64,"bits":"CAAAAAAAAAA="}}},"Units":1,"PerRow":{"B1-R1":1},"PerPlant":{"B1-R1-P001":1}}`
	st := stagetest.Decoded[*blockState](t, stateCodec{}, []byte(old))
	if st.Version != stateVersion || st.Plants["B1-R1"][0] != 1 || st.Seen.add("cam-1-67", "cam-1") || !st.Seen.add("cam-1-66", "cam-1") {
		t.Fatalf("%+v", st)
	}
}

// A table written by the previous build (state version 2, whole bitsets
// from id 0) is read, and its objects stay seen.
func TestStateV2Reads(t *testing.T) {
	old := `{"Version":2,"Seen":{"cameras":{"cam-1":[40]}},"Units":2,"PerRow":{"B1-R1":2},"PerPlant":{"B1-R1-P003":2}}`
	st := stagetest.Decoded[*blockState](t, stateCodec{}, []byte(old))
	if st.Version != stateVersion || st.Units != 2 || len(st.Plants["B1-R1"]) != 3 || st.Plants["B1-R1"][2] != 2 {
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

// The table codec round-trips a block state, and refuses bytes it did not
// write.
func TestStateRoundTrip(t *testing.T) {
	st := &blockState{Version: stateVersion, Seen: newSeen(), PerRow: map[string]int{"B1-R1": 3}, Plants: map[string]plantCounts{"B1-R1": {0, 2, 1}},
		Units: 3, Unplaced: 0, WindowStart: 5, WindowEnd: 9}
	for _, id := range []string{"cam-1-4", "cam-1-90000", "odd"} {
		st.Seen.add(id, "cam-1")
	}
	got := stagetest.RoundTrip(t, stateCodec{}, st)
	if got.Units != 3 || got.PerRow["B1-R1"] != 3 || len(got.Plants["B1-R1"]) != 3 || got.Plants["B1-R1"][1] != 2 || got.WindowEnd != 9 {
		t.Fatalf("%+v", got)
	}
	if got.Seen.add("cam-1-90000", "cam-1") || got.Seen.add("odd", "cam-1") || !got.Seen.add("cam-1-90001", "cam-1") {
		t.Fatal("seen set lost in the round trip")
	}
	empty, err := stateCodec{}.Encode(&blockState{Version: stateVersion, Seen: newSeen(), PerRow: map[string]int{}, Plants: map[string]plantCounts{}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := (stateCodec{}).Decode(empty); err != nil || v.(*blockState).Plants == nil || v.(*blockState).Seen.Windows == nil {
		t.Fatalf("empty state: %v %v", v, err)
	}
	if _, err := (stateCodec{}).Decode([]byte("garbage")); err == nil {
		t.Fatal("garbage accepted")
	}
}

// Ids not of the <camera>-<n> form are remembered too, the latest maxOther.
func TestSeenOtherIsBounded(t *testing.T) {
	s := newSeen()
	for i := 0; i < maxOther+100; i++ {
		if !s.add("x"+strconv.Itoa(i), "") {
			t.Fatalf("id %d seen before", i)
		}
	}
	if len(s.Other) != maxOther || len(s.OtherOrder) != maxOther {
		t.Fatalf("%d ids kept (%d in order), want %d", len(s.Other), len(s.OtherOrder), maxOther)
	}
	if s.add("x"+strconv.Itoa(maxOther+99), "") {
		t.Fatal("a recent id counted again")
	}
	if !s.add("x0", "") {
		t.Fatal("the oldest id was not forgotten")
	}
}

// Objects that name their place are deduplicated by a mark per detections
// partition: replays at or below it are dropped, and the block state stays
// the same size however many cameras feed the block.
func TestSeenByPlaceStaysSmall(t *testing.T) {
	obj := func(cam string, part int32, off int64, idx uint32) *schema.CountedObject {
		return &schema.CountedObject{ObjectId: fmt.Sprintf("%s-s1-%d-%d", cam, off, idx), CameraId: cam, BlockId: "B1",
			SourcePartition: part, SourceOffset: &off, SourceIndex: idx}
	}
	size := func(s *seen) int {
		b, err := stateCodec{}.Encode(&blockState{Version: stateVersion, Seen: s, PerRow: map[string]int{}, Plants: map[string]plantCounts{}})
		if err != nil {
			t.Fatal(err)
		}
		return len(b)
	}
	var sizes []int
	for _, cameras := range []int{10, 5000} {
		s := newSeen()
		off := map[int32]int64{}
		for i := 0; i < 20_000; i++ {
			cam := fmt.Sprintf("camera-%05d", i%cameras)
			part := int32(i % 8)
			off[part]++
			for k := uint32(0); k < 2; k++ {
				if !s.addObject(obj(cam, part, off[part], k)) {
					t.Fatalf("object %d/%d seen before", i, k)
				}
				if s.addObject(obj(cam, part, off[part], k)) {
					t.Fatalf("object %d/%d replayed at once counted again", i, k)
				}
			}
			if i%100 == 99 && s.addObject(obj(cam, part, off[part]-5, 0)) {
				t.Fatalf("an older object replayed counted again")
			}
		}
		sizes = append(sizes, size(s))
	}
	if sizes[1] > sizes[0]+64 || sizes[1] > 1024 {
		t.Fatalf("block state %d bytes with 10 cameras, %d with 5,000", sizes[0], sizes[1])
	}
	// Objects without a place still go by id.
	s := newSeen()
	if !s.addObject(&schema.CountedObject{ObjectId: "cam-1-5", CameraId: "cam-1"}) || s.addObject(&schema.CountedObject{ObjectId: "cam-1-5", CameraId: "cam-1"}) {
		t.Fatal("objects without a place are not deduplicated by id")
	}
}
