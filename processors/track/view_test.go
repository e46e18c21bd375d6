package track

import "testing"

// TestDecodeStateView: the view of an encoded camera state shows the
// tracker's open tracks, the latest frame's detections and the pass, and a
// track's Counts follows the count scores.
func TestDecodeStateView(t *testing.T) {
	dets := truthDetections(t, "cam-v", 1)
	st := &cameraState{Version: stateVersion}
	var last uint64
	for _, d := range dets[:len(dets)/2] {
		st.Tracker.Step(Params{}, FrameOf(d))
		st.Loc = location{Camera: d.CameraId, Field: d.FieldId, Block: d.BlockId, Row: d.RowId}
		st.Pass.Open, st.Pass.ClassNames = true, d.ClassNames
		last = d.Sequence
	}
	if len(st.Tracker.Tracks) == 0 {
		t.Fatal("no open tracks half way through the row")
	}
	raw, err := stateCodec{}.Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	v, err := DecodeState(raw, Params{})
	if err != nil {
		t.Fatal(err)
	}
	if v.LastSeq != last || !v.PassOpen || v.Block != st.Loc.Block || v.Row != st.Tracker.RowID || len(v.Dets) != len(st.Tracker.LastDets) {
		t.Errorf("view %+v does not show the state (last %d, at %+v)", v, last, st.Loc)
	}
	if len(v.Tracks) != len(st.Tracker.Tracks) {
		t.Fatalf("%d tracks in the view, %d open", len(v.Tracks), len(st.Tracker.Tracks))
	}
	counting := 0
	for i, tv := range v.Tracks {
		tr := st.Tracker.Tracks[i]
		b := tr.Box()
		if tv.ID != tr.ID || tv.X1 != b.X1 || tv.Confirmed != tr.Confirmed || tv.Hits != tr.Hits() {
			t.Errorf("track %d viewed as %+v", tr.ID, tv)
		}
		if tv.Counts {
			counting++
		}
	}
	if counting == 0 {
		t.Error("no open track would count with the default count score (perfect detections)")
	}
	strict, err := DecodeState(raw, Params{CountScores: []float64{1.01}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tv := range strict.Tracks {
		if tv.Counts {
			t.Errorf("track %d counts at a count score no median reaches", tv.ID)
		}
	}
	if _, err := DecodeState([]byte{0x7f, 1, 2}, Params{}); err == nil {
		t.Error("garbage decoded")
	}
}
