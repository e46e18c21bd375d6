package fieldrun

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/cropstream/cropstream/evaluation"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/simulator"
	"github.com/twmb/franz-go/pkg/kgo"
)

// labelled is the tracker's input from the pipeline's detections (in
// sequence order), with the units of each class visible from the camera.
func labelled(ds []*schema.Detections, truth *simulator.Truth) track.Labelled {
	var l track.Labelled
	for _, d := range ds {
		l.Frames = append(l.Frames, track.FrameOf(d))
	}
	l.Visible = make([]int, len(truth.ClassNames))
	for _, u := range truth.Units {
		if u.Visible && u.ClassID >= 0 && u.ClassID < len(l.Visible) {
			l.Visible[u.ClassID]++
		}
	}
	return l
}

// decodeDetections decodes the detections records that decode, in sequence
// order.
func decodeDetections(recs []*kgo.Record) []*schema.Detections {
	var ds []*schema.Detections
	for _, r := range recs {
		d, err := schema.DecodeDetections(r.Value)
		if err != nil {
			continue
		}
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Sequence < ds[j].Sequence })
	return ds
}

// Tracking is a field's tracking scored two ways. Own is the project's
// scoring (kept so that figures compare with earlier runs): truth under
// simulator.VisibleThreshold ignored, truth boxes clipped to the frame,
// greedy matching, offline trajectories. Standard is TrackEval's
// MOTChallenge scoring of the boxes written to gt.txt (amodal, as the
// simulator gives them).
type Tracking struct {
	Own      evaluation.MOTResult `json:"own"`
	Standard StandardScores       `json:"standard"`
	// ByteTrack is the reference tracker (evaluation.ByteTrack, given the
	// camera's motion) on the same detections, scored online like the
	// project's tracker.
	ByteTrack ReferenceScores `json:"bytetrack"`
}

// ReferenceScores are TrackEval's metrics of a reference tracker's online
// output.
type ReferenceScores struct {
	RawOnline     evaluation.Standard `json:"raw_online"`
	VisibleOnline evaluation.Standard `json:"visible_online"`
}

// StandardScores are TrackEval's metrics on four views of one run. Raw
// scores every truth box (every unit with a pixel in view); visible-only
// treats truth under simulator.VisibleThreshold as MOTChallenge distractors.
// Online reports a track's box in the frames the tracker outputs it live
// (track.State.Reports: matched in the frame by a sure association, from its
// second hit on, as ByteTrack activates tracks); offline reports every
// confirmed track from its first box (what tracks.txt holds).
type StandardScores struct {
	RawOnline      evaluation.Standard `json:"raw_online"`
	RawOffline     evaluation.Standard `json:"raw_offline"`
	VisibleOnline  evaluation.Standard `json:"visible_online"`
	VisibleOffline evaluation.Standard `json:"visible_offline"`
}

// Hyp is one reported box of a track.
type Hyp struct {
	Box   evaluation.MOTBox
	Class int
}

// ReplayTracks runs the tracker over frames and returns, per frame, the
// boxes it reports online and offline (see StandardScores). Offline, a
// track is reported from its first box once it is confirmed; tentative
// tracks that die are never reported (reported only from confirmation on,
// every track lost its first MinHits frames, a third of the frames an
// object is in view at 6 fps).
func ReplayTracks(frames []track.Frame, params track.Params) (online, offline [][]Hyp) {
	online = make([][]Hyp, len(frames))
	offline = make([][]Hyp, len(frames))
	type pendingBox struct {
		frame int
		h     Hyp
	}
	tentative := map[uint64][]pendingBox{} // a tentative track's boxes so far
	st := &track.State{}
	for i, f := range frames {
		st.Step(params, f)
		live := map[uint64]bool{}
		for _, t := range st.Tracks {
			live[t.ID] = true
			if t.Lost != 0 {
				continue
			}
			b := t.Box()
			h := Hyp{evaluation.MOTBox{ID: int(t.ID), Box: inference.Detection{X1: float32(b.X1), Y1: float32(b.Y1), X2: float32(b.X2), Y2: float32(b.Y2)}}, t.Class}
			if !t.Confirmed {
				tentative[t.ID] = append(tentative[t.ID], pendingBox{i, h})
				continue
			}
			for _, pb := range tentative[t.ID] {
				offline[pb.frame] = append(offline[pb.frame], pb.h)
			}
			delete(tentative, t.ID)
			offline[i] = append(offline[i], h)
		}
		for _, r := range st.Reports(params) {
			b := r.Track.Box()
			online[i] = append(online[i], Hyp{evaluation.MOTBox{ID: int(r.ID), Box: inference.Detection{X1: float32(b.X1), Y1: float32(b.Y1), X2: float32(b.X2), Y2: float32(b.Y2)}}, r.Track.Class})
		}
		for id := range tentative {
			if !live[id] { // died tentative: never reported
				delete(tentative, id)
			}
		}
	}
	return online, offline
}

// TruthFrames returns, per frame of ds, the truth boxes as the simulator
// gives them (amodal, possibly reaching outside the frame; Ignore marks
// units under simulator.VisibleThreshold) and, for the project's own
// scoring, clipped to the frame's width.
func TruthFrames(ds []*schema.Detections, truth map[uint64][]simulator.Box) (raw, clipped [][]evaluation.MOTBox) {
	raw = make([][]evaluation.MOTBox, len(ds))
	clipped = make([][]evaluation.MOTBox, len(ds))
	for i, d := range ds {
		for _, b := range truth[d.Sequence] {
			ign := b.Visibility < simulator.VisibleThreshold
			box := inference.Detection{X1: float32(b.Rect.Min.X), Y1: float32(b.Rect.Min.Y), X2: float32(b.Rect.Max.X), Y2: float32(b.Rect.Max.Y)}
			raw[i] = append(raw[i], evaluation.MOTBox{ID: b.UnitID, Box: box, Ignore: ign})
			r := b.Clipped(int(d.Width), int(d.Height))
			box = inference.Detection{X1: float32(r.Min.X), Y1: float32(r.Min.Y), X2: float32(r.Max.X), Y2: float32(r.Max.Y)}
			clipped[i] = append(clipped[i], evaluation.MOTBox{ID: b.UnitID, Box: box, Ignore: ign})
		}
	}
	return raw, clipped
}

// ScoreStandard scores online and offline reports against the raw truth,
// both raw and visible-only.
func ScoreStandard(raw [][]evaluation.MOTBox, online, offline [][]Hyp) StandardScores {
	frames := func(hs [][]Hyp) []evaluation.TrackFrame {
		out := make([]evaluation.TrackFrame, len(raw))
		for i := range raw {
			out[i].GT = raw[i]
			for _, h := range hs[i] {
				out[i].Hyp = append(out[i].Hyp, h.Box)
			}
		}
		return out
	}
	on, off := frames(online), frames(offline)
	return StandardScores{
		RawOnline:      evaluation.ScoreStandard(on, false),
		RawOffline:     evaluation.ScoreStandard(off, false),
		VisibleOnline:  evaluation.ScoreStandard(on, true),
		VisibleOffline: evaluation.ScoreStandard(off, true),
	}
}

// scoreTracking replays the tracker on the pipeline's detections (in
// sequence order, from decodeDetections) and scores it against the truth;
// with dir set it writes MOTChallenge files: det.txt, gt.txt, tracks.txt
// (offline), tracks-online.txt and bytetrack.txt (the reference's online
// output).
func scoreTracking(ds []*schema.Detections, truth map[uint64][]simulator.Box, dir string, params track.Params, ref evaluation.ByteTrackConfig) (Tracking, error) {
	frames := make([]track.Frame, len(ds))
	for i, d := range ds {
		frames[i] = track.FrameOf(d)
	}
	online, offline := ReplayTracks(frames, params)
	raw, clipped := TruthFrames(ds, truth)
	ev := evaluation.NewMOTEval()
	for i := range ds {
		var hs []evaluation.MOTBox
		for _, h := range offline[i] {
			hs = append(hs, h.Box)
		}
		ev.Add(clipped[i], hs)
	}
	res := Tracking{Own: ev.Result(), Standard: ScoreStandard(raw, online, offline)}
	bt := evaluation.ByteTrack(ref, ds)
	btHyps := make([][]Hyp, len(bt))
	for i, fr := range bt {
		for _, b := range fr {
			btHyps[i] = append(btHyps[i], Hyp{Box: b})
		}
	}
	btScores := ScoreStandard(raw, btHyps, btHyps)
	res.ByteTrack = ReferenceScores{RawOnline: btScores.RawOnline, VisibleOnline: btScores.VisibleOnline}
	if dir == "" {
		return res, nil
	}
	var detTxt, gtTxt []byte
	for i, d := range ds {
		frame := i + 1
		for _, x := range d.Detections {
			b := x.Box
			detTxt = fmt.Appendf(detTxt, "%d,-1,%.1f,%.1f,%.1f,%.1f,%.3f,%d,-1,-1\n", frame, b.X1, b.Y1, b.X2-b.X1, b.Y2-b.Y1, x.Score, x.ClassId+1)
		}
		for _, b := range truth[d.Sequence] {
			gtTxt = fmt.Appendf(gtTxt, "%d,%d,%d,%d,%d,%d,1,%d,%.3f\n", frame, b.UnitID, b.Rect.Min.X, b.Rect.Min.Y, b.Rect.Dx(), b.Rect.Dy(), b.ClassID+1, b.Visibility)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("mot files: %w", err)
	}
	for name, b := range map[string][]byte{"det.txt": detTxt, "tracks.txt": trackLines(offline), "tracks-online.txt": trackLines(online), "bytetrack.txt": trackLines(btHyps), "gt.txt": gtTxt} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return res, fmt.Errorf("mot files: %w", err)
		}
	}
	return res, nil
}

// trackLines writes reported boxes as MOTChallenge results.
func trackLines(hs [][]Hyp) []byte {
	var out []byte
	for i, fr := range hs {
		for _, h := range fr {
			b := h.Box.Box
			out = fmt.Appendf(out, "%d,%d,%.1f,%.1f,%.1f,%.1f,1,%d,-1,-1\n", i+1, h.Box.ID, b.X1, b.Y1, b.X2-b.X1, b.Y2-b.Y1, h.Class+1)
		}
	}
	return out
}
