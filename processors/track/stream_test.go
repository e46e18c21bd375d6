package track

import "testing"

// A fruit seen in every frame of row R1 and a second one in row R2: the
// first is counted when R2 begins and attributed to R1, the second when
// RunStream ends the stream, which has no end marker, and attributed to R2.
func TestRunStreamAttributesRowsAndEndsTheStream(t *testing.T) {
	fruit := []Det{{X1: 300, Y1: 200, X2: 340, Y2: 240, Score: 0.9}}
	var frames []Frame
	for i := range 20 {
		row := "R1"
		if i >= 10 {
			row = "R2"
		}
		frames = append(frames, Frame{Seq: uint64(i + 1), RowID: row, Width: 640, Dets: fruit})
	}
	got := map[string]int{}
	calls := 0
	RunStream(Params{}, frames, func(row string, counted []*Track) {
		calls++
		got[row] += len(counted)
	})
	if got["R1"] != 1 || got["R2"] != 1 || len(got) != 2 {
		t.Errorf("counted per row %v, want R1 1 and R2 1", got)
	}
	if calls != len(frames)+1 {
		t.Errorf("%d calls for %d frames, want one more for the end of the stream", calls, len(frames))
	}
	// With its own end marker the stream is not ended twice.
	frames = append(frames, Frame{Seq: 21, RowID: "R2", Width: 640, End: true})
	calls = 0
	RunStream(Params{}, frames, func(string, []*Track) { calls++ })
	if calls != len(frames) {
		t.Errorf("%d calls for %d frames ending with a marker", calls, len(frames))
	}
}
