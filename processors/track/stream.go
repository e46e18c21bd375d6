package track

import "github.com/cropstream/cropstream/schema"

// RunStream runs the tracker with p over one stream's frames, in order, and
// ends the stream when its last frame does not. each receives what every
// step counted with the row those tracks were seen in: the row in progress
// when the frame came, as a frame of a new row ends the previous row's
// tracks.
func RunStream(p Params, frames []Frame, each func(row string, counted []*Track)) {
	st := &State{}
	for _, f := range frames {
		row := f.RowID
		if st.Started {
			row = st.RowID
		}
		c, _ := st.Step(p, f)
		each(row, c)
	}
	if n := len(frames); n > 0 && !frames[n-1].End {
		c, _ := st.Step(p, Frame{Seq: st.LastSeq + 1, RowID: st.RowID, Width: st.Width, End: true})
		each(st.RowID, c)
	}
}

// FramesOf turns detections records into the tracker's input.
func FramesOf(ds []*schema.Detections) []Frame {
	out := make([]Frame, len(ds))
	for i, d := range ds {
		out[i] = FrameOf(d)
	}
	return out
}
