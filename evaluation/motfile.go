package evaluation

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/cropstream/cropstream/inference"
)

// ReadMOT reads a MOTChallenge file (frame,id,x,y,w,h,conf[,class,visibility,...])
// and returns its boxes by frame. A box whose visibility column is present
// and below minVis is marked Ignore; a truth box whose conf column is 0 (the
// MOTChallenge "do not consider" mark) is left out, as TrackEval does.
func ReadMOT(r io.Reader, minVis float64, truth bool) (map[int][]MOTBox, error) {
	out := map[int][]MOTBox{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		f := strings.Split(s, ",")
		if len(f) < 6 {
			return nil, fmt.Errorf("mot line %d: %d fields, want at least 6", line, len(f))
		}
		var v [6]float64
		for i := range v {
			x, err := strconv.ParseFloat(strings.TrimSpace(f[i]), 64)
			if err != nil {
				return nil, fmt.Errorf("mot line %d field %d: %w", line, i+1, err)
			}
			v[i] = x
		}
		if truth && len(f) > 6 && strings.TrimSpace(f[6]) == "0" {
			continue
		}
		b := MOTBox{ID: int(v[1]), Box: inference.Detection{X1: float32(v[2]), Y1: float32(v[3]), X2: float32(v[2] + v[4]), Y2: float32(v[3] + v[5])}}
		if len(f) > 8 {
			vis, err := strconv.ParseFloat(strings.TrimSpace(f[8]), 64)
			if err == nil && vis >= 0 && vis < minVis {
				b.Ignore = true
			}
		}
		out[int(v[0])] = append(out[int(v[0])], b)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mot: %w", err)
	}
	return out, nil
}

// MOTFrames lines up truth and hypotheses by frame number, from frame 1 to
// the last frame either holds.
func MOTFrames(gt, hyp map[int][]MOTBox) []TrackFrame {
	last := 0
	for f := range gt {
		last = max(last, f)
	}
	for f := range hyp {
		last = max(last, f)
	}
	out := make([]TrackFrame, last)
	for f := 1; f <= last; f++ {
		out[f-1] = TrackFrame{GT: gt[f], Hyp: hyp[f]}
	}
	return out
}

// MOTFileReport is a tracker's MOTChallenge results scored against truth
// by TrackEval's rules (ScoreStandard): on every truth box, and with truth
// under MinVis visible as distractors.
type MOTFileReport struct {
	GT          string   `json:"gt"`
	Tracks      string   `json:"tracks"`
	MinVis      float64  `json:"min_visibility"`
	Raw         Standard `json:"raw"`
	VisibleOnly Standard `json:"visible_only"`
}

// ScoreMOTFiles reads the truth gt and the results tracks (MOTChallenge
// files) and scores them.
func ScoreMOTFiles(gt, tracks string, minVis float64) (*MOTFileReport, error) {
	g, err := readMOTFile(gt, minVis, true)
	if err != nil {
		return nil, err
	}
	t, err := readMOTFile(tracks, minVis, false)
	if err != nil {
		return nil, err
	}
	frames := MOTFrames(g, t)
	return &MOTFileReport{GT: gt, Tracks: tracks, MinVis: minVis,
		Raw: ScoreStandard(frames, false), VisibleOnly: ScoreStandard(frames, true)}, nil
}

func readMOTFile(path string, minVis float64, truth bool) (map[int][]MOTBox, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := ReadMOT(f, minVis, truth)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Print writes both scorings, a line each.
func (r *MOTFileReport) Print(out io.Writer) {
	r.Raw.Print(out, "raw truth")
	r.VisibleOnly.Print(out, fmt.Sprintf("visible-only (>= %.2f)", r.MinVis))
}

// Print writes one line of TrackEval's headline metrics after label.
func (s Standard) Print(out io.Writer, label string) {
	fmt.Fprintf(out, "%-28s HOTA %.3f (DetA %.3f AssA %.3f LocA %.3f)  MOTA %.3f  IDF1 %.3f  IDSW %d  Frag %d  FP %d  FN %d\n",
		label, s.HOTA, s.DetA, s.AssA, s.LocA, s.MOTA, s.IDF1, s.IDSW, s.Frag, s.FP, s.FN)
}
