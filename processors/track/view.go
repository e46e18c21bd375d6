package track

// CameraView is a read-only copy of a camera's entry in the track table, for
// query endpoints and the live page: the tracks as they stand after the
// camera's latest frame, and that frame's detections.
type CameraView struct {
	// LastSeq is the sequence of the frame the state reflects.
	LastSeq uint64 `json:"last_sequence"`
	Field   string `json:"field_id"`
	Block   string `json:"block_id"`
	Row     string `json:"row_id"`
	// PassOpen is false between an ended pass (end of stream, idle gap) and
	// the camera's next frame.
	PassOpen   bool     `json:"pass_open"`
	Width      int      `json:"width"`
	ClassNames []string `json:"class_names"`
	// ArrivedUnixNs is when the track stage applied the latest frame.
	ArrivedUnixNs int64       `json:"arrived_unix_ns"`
	Tracks        []TrackView `json:"tracks"`
	// Dets are the latest frame's detections the tracker took (above its
	// low score), in frame pixels.
	Dets []Det `json:"detections"`
	// Lines are the camera's count lines and their counts (none without
	// lines: cropstream zones set).
	Lines []LineView `json:"lines,omitempty"`
}

// TrackView is one open track.
type TrackView struct {
	ID    uint64  `json:"id"`
	Class int     `json:"class_id"`
	X1    float64 `json:"x1"`
	Y1    float64 `json:"y1"`
	X2    float64 `json:"x2"`
	Y2    float64 `json:"y2"`
	// Confirmed tracks are reported; tentative ones may still die.
	Confirmed bool `json:"confirmed"`
	// Duplicate tracks lie on top of a confirmed one and never count.
	Duplicate   bool    `json:"duplicate"`
	Hits        int     `json:"hits"`
	Lost        int     `json:"lost"`
	MedianScore float64 `json:"median_score"`
	// Counts says whether the track would count if it ended now, by the
	// count scores the camera's latest frame carried.
	Counts   bool   `json:"counts"`
	FirstSeq uint64 `json:"first_sequence"`
}

// DecodeState reads a track table value (any encoding the stage reads) into
// a CameraView. The tracks' Counts use p's count scores, else those of the
// latest frame.
func DecodeState(b []byte, p Params) (*CameraView, error) {
	st, err := decodeState(b)
	if err != nil {
		return nil, err
	}
	if p.CountScores == nil {
		for _, c := range st.Pass.CountScores {
			p.CountScores = append(p.CountScores, float64(c))
		}
	}
	return &CameraView{LastSeq: st.Tracker.LastSeq, Field: st.Loc.Field, Block: st.Loc.Block, Row: st.Tracker.RowID,
		PassOpen: st.Pass.Open, Width: st.Tracker.Width, ClassNames: st.Pass.ClassNames, ArrivedUnixNs: st.Pass.ArrivedNs,
		Dets: st.Tracker.LastDets, Tracks: st.Tracker.Views(p), Lines: lineViews(st.Lines, st.Pass.ClassNames)}, nil
}

// Views are the open tracks as TrackViews; Counts by p's count scores
// (default 0.5).
func (s *State) Views(p Params) []TrackView {
	p = p.withDefaults()
	out := make([]TrackView, 0, len(s.Tracks))
	for _, t := range s.Tracks {
		b := t.box()
		out = append(out, TrackView{ID: t.ID, Class: t.Class, X1: b.X1, Y1: b.Y1, X2: b.X2, Y2: b.Y2,
			Confirmed: t.Confirmed, Duplicate: t.Duplicate, Hits: t.Hits(), Lost: t.Lost, MedianScore: t.MedianScore(),
			Counts: p.counts(t), FirstSeq: t.FirstSeq})
	}
	return out
}
