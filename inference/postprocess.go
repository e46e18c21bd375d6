package inference

import (
	"sort"
)

// Detection is one box in frame pixels.
type Detection struct {
	X1, Y1, X2, Y2 float32
	Class          int
	Score          float32
}

// Area of the box.
func (d Detection) Area() float32 { return max(0, d.X2-d.X1) * max(0, d.Y2-d.Y1) }

// IoU of two boxes.
func IoU(a, b Detection) float32 {
	ix := min(a.X2, b.X2) - max(a.X1, b.X1)
	iy := min(a.Y2, b.Y2) - max(a.Y1, b.Y1)
	if ix <= 0 || iy <= 0 {
		return 0
	}
	inter := ix * iy
	return inter / (a.Area() + b.Area() - inter)
}

// decodeYOLOv8 reads one image's output ([4+nc, A] when transposed is false,
// [A, 4+nc] when true) and keeps boxes whose best class scores at least thr.
func decodeYOLOv8(out []float32, nc, anchors int, transposed bool, thr float32) []Detection {
	at := func(ch, a int) float32 {
		if transposed {
			return out[a*(4+nc)+ch]
		}
		return out[ch*anchors+a]
	}
	var dets []Detection
	for a := 0; a < anchors; a++ {
		best, cls := float32(-1), -1
		for c := 0; c < nc; c++ {
			if s := at(4+c, a); s > best {
				best, cls = s, c
			}
		}
		if best < thr {
			continue
		}
		cx, cy, w, h := at(0, a), at(1, a), at(2, a), at(3, a)
		dets = append(dets, Detection{X1: cx - w/2, Y1: cy - h/2, X2: cx + w/2, Y2: cy + h/2, Class: cls, Score: best})
	}
	return dets
}

// decodeEndToEnd reads one image's [N, 6] output.
func decodeEndToEnd(out []float32, n int, thr float32) []Detection {
	var dets []Detection
	for i := 0; i < n; i++ {
		r := out[i*6 : i*6+6]
		if r[4] < thr {
			continue
		}
		dets = append(dets, Detection{X1: r[0], Y1: r[1], X2: r[2], Y2: r[3], Score: r[4], Class: int(r[5])})
	}
	return dets
}

// NMS keeps, per class, the highest-scoring boxes that overlap no kept box
// of the same class by more than iouThr; at most maxDet boxes, best first.
func NMS(dets []Detection, iouThr float32, maxDet int) []Detection {
	sort.SliceStable(dets, func(i, j int) bool { return dets[i].Score > dets[j].Score })
	kept := make([]Detection, 0, min(len(dets), maxDet))
	for _, d := range dets {
		ok := true
		for _, k := range kept {
			if k.Class == d.Class && IoU(k, d) > iouThr {
				ok = false
				break
			}
		}
		if ok {
			kept = append(kept, d)
			if len(kept) == maxDet {
				break
			}
		}
	}
	return kept
}

// decodeReduced reads one image of a [B, 6, A] output: cx, cy, w, h, score,
// class rows over A anchors.
func decodeReduced(out []float32, anchors int, minScore float32) []Detection {
	var dets []Detection
	score, class := out[4*anchors:5*anchors], out[5*anchors:6*anchors]
	for a, sc := range score {
		if sc < minScore {
			continue
		}
		cx, cy, w, h := out[a], out[anchors+a], out[2*anchors+a], out[3*anchors+a]
		dets = append(dets, Detection{X1: cx - w/2, Y1: cy - h/2, X2: cx + w/2, Y2: cy + h/2, Score: sc, Class: int(class[a])})
	}
	return dets
}
