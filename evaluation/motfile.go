package evaluation

import (
	"bufio"
	"fmt"
	"io"
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
