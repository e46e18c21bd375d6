package track

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"reflect"
	"testing"

	"github.com/cropstream/cropstream/stage/stagetest"
	"github.com/cropstream/cropstream/zones"
)

// A camera's count lines and crossings log survive the table codec; a
// record of the build before them (marker 0x03) still decodes, with no
// lines; a corrupt lines part is an error, not a silent reset.
func TestStateCodecLines(t *testing.T) {
	st := &cameraState{Version: stateVersion, Tracker: State{NextID: 9, Started: true, LastSeq: 41}}
	st.Lines = map[string]*lineState{
		"belt": {Line: zones.Line{Name: "belt", A: zones.Point{X: 320.5}, B: zones.Point{X: 320.5, Y: 360}},
			Tally: zones.Tally{3: {Side: 1, Crossed: 1, Counted: 1}, 7: {Side: -1}}, In: map[int]uint64{0: 12, 1: 4}, Out: map[int]uint64{}},
		"gate": {Line: zones.Line{Name: "gate", A: zones.Point{Y: 200}, B: zones.Point{X: 640, Y: 200}, Band: 3},
			Tally: zones.Tally{}, In: map[int]uint64{}, Out: map[int]uint64{2: 1}},
	}
	st.Crossed = st.Crossed.add(emitted{Seq: 40, Stream: "s", Block: "belt-1", Objects: [][]byte{[]byte("crossing")}})
	st.Emitted = st.Emitted.add(emitted{Seq: 41, Stream: "s", Block: "B1", Objects: [][]byte{[]byte("object")}})
	got := stagetest.RoundTrip(t, stateCodec{}, st)
	if !reflect.DeepEqual(got.Lines, st.Lines) || !bytes.Equal(got.Crossed, st.Crossed) || !bytes.Equal(got.Emitted, st.Emitted) || got.Tracker.LastSeq != 41 {
		t.Fatalf("round trip:\n%+v\n%+v", got, st)
	}

	// The build before count lines: marker 0x03, gob, then the emitted log.
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(trackerState{Version: stateVersion, Tracker: st.Tracker}); err != nil {
		t.Fatal(err)
	}
	old := binary.AppendUvarint([]byte{streamsMarker}, uint64(buf.Len()))
	old = append(append(old, buf.Bytes()...), st.Emitted...)
	if v, err := (stateCodec{}).Decode(old); err != nil || v.(*cameraState).Lines != nil || !bytes.Equal(v.(*cameraState).Emitted, st.Emitted) {
		t.Fatalf("old record: %+v %v", v, err)
	}

	// A camera without lines pays two bytes for them.
	st.Lines, st.Crossed = nil, nil
	without, _ := stateCodec{}.Encode(st)
	if d := len(without) - len(old); d != 2 {
		t.Errorf("a camera without lines: %d bytes more than before lines", d)
	}

	lines := appendLines(nil, map[string]*lineState{"belt": {Line: zones.Line{Name: "belt"}, Tally: zones.Tally{1: {Side: 1}}}})
	for _, cut := range []int{1, 5, len(lines) - 1} {
		if _, err := readLines(lines[:cut]); err == nil {
			t.Errorf("lines cut at %d of %d bytes decoded", cut, len(lines))
		}
	}
	if _, err := readLines(append(lines, 0)); err == nil {
		t.Error("lines with a trailing byte decoded")
	}
}
