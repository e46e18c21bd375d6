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

// scoreTracking replays the tracker on the pipeline's detections (in
// sequence order, from decodeDetections) and scores
// it against the truth; with dir set it writes MOTChallenge files. A track
// is reported from its first box once it is confirmed (the trajectories the
// tracker identified, as offline MOT results are): reported only from
// confirmation on, every track lost its first MinHits frames, a third of
// the frames an object is in view at 6 fps.
func scoreTracking(ds []*schema.Detections, truth map[uint64][]simulator.Box, dir string, params track.Params) (evaluation.MOTResult, error) {
	type hyp struct {
		box   evaluation.MOTBox
		class int
	}
	var detTxt, trkTxt, gtTxt []byte
	hyps := make([][]hyp, len(ds))
	gts := make([][]evaluation.MOTBox, len(ds))
	type pendingBox struct {
		frame int
		h     hyp
	}
	tentative := map[uint64][]pendingBox{} // a tentative track's boxes so far
	st := &track.State{}
	for i, d := range ds {
		frame := i + 1
		for _, x := range d.Detections {
			b := x.Box
			detTxt = fmt.Appendf(detTxt, "%d,-1,%.1f,%.1f,%.1f,%.1f,%.3f,%d,-1,-1\n", frame, b.X1, b.Y1, b.X2-b.X1, b.Y2-b.Y1, x.Score, x.ClassId+1)
		}
		st.Step(params, track.FrameOf(d))
		live := map[uint64]bool{}
		for _, t := range st.Tracks {
			live[t.ID] = true
			if t.Lost != 0 {
				continue
			}
			b := t.Box()
			h := hyp{evaluation.MOTBox{ID: int(t.ID), Box: inference.Detection{X1: float32(b.X1), Y1: float32(b.Y1), X2: float32(b.X2), Y2: float32(b.Y2)}}, t.Class}
			if !t.Confirmed {
				tentative[t.ID] = append(tentative[t.ID], pendingBox{i, h})
				continue
			}
			for _, pb := range tentative[t.ID] {
				hyps[pb.frame] = append(hyps[pb.frame], pb.h)
			}
			delete(tentative, t.ID)
			hyps[i] = append(hyps[i], h)
		}
		for id := range tentative {
			if !live[id] { // died tentative: never reported
				delete(tentative, id)
			}
		}
		for _, b := range truth[d.Sequence] {
			r := b.Clipped(int(d.Width), int(d.Height))
			box := inference.Detection{X1: float32(r.Min.X), Y1: float32(r.Min.Y), X2: float32(r.Max.X), Y2: float32(r.Max.Y)}
			gts[i] = append(gts[i], evaluation.MOTBox{ID: b.UnitID, Box: box, Ignore: b.Visibility < simulator.VisibleThreshold})
			gtTxt = fmt.Appendf(gtTxt, "%d,%d,%d,%d,%d,%d,1,%d,%.3f\n", frame, b.UnitID, b.Rect.Min.X, b.Rect.Min.Y, b.Rect.Dx(), b.Rect.Dy(), b.ClassID+1, b.Visibility)
		}
	}
	ev := evaluation.NewMOTEval()
	for i := range ds {
		var hs []evaluation.MOTBox
		for _, h := range hyps[i] {
			hs = append(hs, h.box)
			b := h.box.Box
			trkTxt = fmt.Appendf(trkTxt, "%d,%d,%.1f,%.1f,%.1f,%.1f,1,%d,-1,-1\n", i+1, h.box.ID, b.X1, b.Y1, b.X2-b.X1, b.Y2-b.Y1, h.class+1)
		}
		ev.Add(gts[i], hs)
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return evaluation.MOTResult{}, err
		}
		for name, b := range map[string][]byte{"det.txt": detTxt, "tracks.txt": trkTxt, "gt.txt": gtTxt} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				return evaluation.MOTResult{}, err
			}
		}
	}
	return ev.Result(), nil
}
