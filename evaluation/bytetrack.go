package evaluation

import (
	"cmp"
	"math"

	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/schema"
)

// ByteTrackConfig is the reference tracker's settings: ByteTrack's
// published defaults (github.com/ifzhang/ByteTrack, yolox/tracker/
// byte_tracker.py) where zero.
type ByteTrackConfig struct {
	TrackThresh float64 // default 0.5; new tracks need TrackThresh+0.1
	MatchThresh float64 // IoU distance limit of the first association, default 0.8
	TrackBuffer int     // default 30 (frames at 30 fps)
	FrameRate   float64 // the camera's, default 30
	// PxPerM, when positive, gives the tracker the camera's motion: every
	// box is shifted by the frame's position along the row times this
	// (the scene then stands still), and shifted back for output.
	PxPerM float64
}

func (c ByteTrackConfig) withDefaults() ByteTrackConfig {
	c.TrackThresh = cmp.Or(c.TrackThresh, 0.5)
	c.MatchThresh = cmp.Or(c.MatchThresh, 0.8)
	c.TrackBuffer = cmp.Or(c.TrackBuffer, 30)
	c.FrameRate = cmp.Or(c.FrameRate, 30)
	return c
}

// kfAxis is one coordinate of ByteTrack's Kalman filter: its 8-dimensional
// filter (x, y, aspect, height and their velocities) has block-diagonal
// matrices, so it is four independent position/velocity filters whose
// noises scale with the height.
type kfAxis struct{ x, v, p00, p01, p11 float64 }

func (k *kfAxis) predict(qp, qv float64) {
	k.x += k.v
	k.p00 += 2*k.p01 + k.p11 + qp*qp
	k.p01 += k.p11
	k.p11 += qv * qv
}

func (k *kfAxis) update(z, r float64) {
	s := k.p00 + r*r
	k0, k1 := k.p00/s, k.p01/s
	y := z - k.x
	k.x += k0 * y
	k.v += k1 * y
	p00, p01, p11 := (1-k0)*k.p00, (1-k0)*k.p01, k.p11-k1*k.p01
	k.p00, k.p01, k.p11 = p00, p01, p11
}

const (
	btPos = 1.0 / 20 // ByteTrack's _std_weight_position
	btVel = 1.0 / 160
)

type btTrack struct {
	id                int
	ax                [4]kfAxis // cx, cy, aspect w/h, h
	state             int       // 0 tracked, 1 lost
	activated         bool
	endFrame, started int
	score             float64
}

func newBTTrack(b [4]float64, score float64) *btTrack {
	h := b[3]
	t := &btTrack{score: score}
	std := [4]float64{2 * btPos * h, 2 * btPos * h, 1e-2, 2 * btPos * h}
	vstd := [4]float64{10 * btVel * h, 10 * btVel * h, 1e-5, 10 * btVel * h}
	for i := range t.ax {
		t.ax[i] = kfAxis{x: b[i], p00: std[i] * std[i], p11: vstd[i] * vstd[i]}
	}
	return t
}

func (t *btTrack) predict() {
	if t.state != 0 {
		t.ax[3].v = 0 // ByteTrack zeroes the height velocity of lost tracks
	}
	h := t.ax[3].x
	qp := [4]float64{btPos * h, btPos * h, 1e-2, btPos * h}
	qv := [4]float64{btVel * h, btVel * h, 1e-5, btVel * h}
	for i := range t.ax {
		t.ax[i].predict(qp[i], qv[i])
	}
}

func (t *btTrack) update(b [4]float64, score float64, frame int) {
	h := t.ax[3].x
	r := [4]float64{btPos * h, btPos * h, 1e-1, btPos * h}
	for i := range t.ax {
		t.ax[i].update(b[i], r[i])
	}
	t.state, t.activated, t.endFrame, t.score = 0, true, frame, score
}

// tlbr is the track's box (x1, y1, x2, y2).
func (t *btTrack) tlbr() [4]float64 {
	h := t.ax[3].x
	w := t.ax[2].x * h
	return [4]float64{t.ax[0].x - w/2, t.ax[1].x - h/2, t.ax[0].x + w/2, t.ax[1].x + h/2}
}

type btDet struct {
	tlbr  [4]float64
	xyah  [4]float64
	score float64
}

func iouTLBR(a, b [4]float64) float64 {
	in := math.Max(0, math.Min(a[2], b[2])-math.Max(a[0], b[0])) * math.Max(0, math.Min(a[3], b[3])-math.Max(a[1], b[1]))
	u := (a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - in
	if u <= 0 {
		return 0
	}
	return in / u
}

// btAssign is ByteTrack's linear_assignment: pairs whose cost (IoU
// distance, fused with the score where fuse) exceeds thresh cannot pair;
// lapjv with cost_limit then minimises the cost, which is maximising
// thresh - cost over the allowed pairs.
func btAssign(ts []*btTrack, ds []btDet, thresh float64, fuse bool) (tTo []int) {
	var es []edge
	for i, t := range ts {
		tb := t.tlbr()
		for j, d := range ds {
			sim := iouTLBR(tb, d.tlbr)
			if fuse {
				sim *= d.score
			}
			if c := 1 - sim; c <= thresh {
				es = append(es, edge{i, j, thresh - c + 1e-12})
			}
		}
	}
	return maxAssign(len(ts), len(ds), es)
}

// ByteTrack runs the reference tracker over a stream of detections (one
// camera, in sequence order; a new row starts a new tracker, as the camera
// turned around) and returns, per frame, the boxes it outputs online: its
// activated tracks matched in that frame.
func ByteTrack(cfg ByteTrackConfig, ds []*schema.Detections) [][]MOTBox {
	cfg = cfg.withDefaults()
	out := make([][]MOTBox, len(ds))
	maxLost := int(cfg.FrameRate / 30 * float64(cfg.TrackBuffer))
	var tracked, lost []*btTrack
	nextID, frame := 0, 0
	row := ""
	for fi, d := range ds {
		if d.GetEndOfStream() {
			continue
		}
		if d.GetRowId() != row {
			tracked, lost, row, frame = nil, nil, d.GetRowId(), 0
		}
		frame++
		off := 0.0
		if cfg.PxPerM > 0 && d.PositionM != nil {
			off = *d.PositionM * cfg.PxPerM
		}
		var high, low []btDet
		for _, x := range d.GetDetections() {
			b := x.GetBox()
			tl := [4]float64{float64(b.GetX1()) + off, float64(b.GetY1()), float64(b.GetX2()) + off, float64(b.GetY2())}
			w, h := tl[2]-tl[0], tl[3]-tl[1]
			if w <= 0 || h <= 0 {
				continue
			}
			det := btDet{tlbr: tl, xyah: [4]float64{tl[0] + w/2, tl[1] + h/2, w / h, h}, score: float64(x.GetScore())}
			switch s := det.score; {
			case s > cfg.TrackThresh:
				high = append(high, det)
			case s > 0.1 && s < cfg.TrackThresh:
				low = append(low, det)
			}
		}
		var unconfirmed, active []*btTrack
		for _, t := range tracked {
			if t.activated {
				active = append(active, t)
			} else {
				unconfirmed = append(unconfirmed, t)
			}
		}
		pool := append(append([]*btTrack(nil), active...), lost...)
		for _, t := range pool {
			t.predict()
		}
		// Unconfirmed tracks are not predicted: ByteTrack matches them on
		// their last update.
		var nowTracked, nowLost []*btTrack
		// First association: every track against high-score boxes.
		m1 := btAssign(pool, high, cfg.MatchThresh, true)
		usedHigh := make([]bool, len(high))
		var rest []*btTrack
		for i, t := range pool {
			if j := m1[i]; j >= 0 {
				t.update(high[j].xyah, high[j].score, frame)
				usedHigh[j] = true
				nowTracked = append(nowTracked, t)
			} else if t.state == 0 {
				rest = append(rest, t)
			} else {
				nowLost = append(nowLost, t)
			}
		}
		// Second: tracked ones left against low-score boxes.
		m2 := btAssign(rest, low, 0.5, false)
		for i, t := range rest {
			if j := m2[i]; j >= 0 {
				t.update(low[j].xyah, low[j].score, frame)
				nowTracked = append(nowTracked, t)
			} else {
				t.state = 1
				nowLost = append(nowLost, t)
			}
		}
		// Unconfirmed tracks against the high-score boxes left.
		var leftHigh []btDet
		for j, det := range high {
			if !usedHigh[j] {
				leftHigh = append(leftHigh, det)
			}
		}
		m3 := btAssign(unconfirmed, leftHigh, 0.7, true)
		usedLeft := make([]bool, len(leftHigh))
		for i, t := range unconfirmed {
			if j := m3[i]; j >= 0 {
				t.update(leftHigh[j].xyah, leftHigh[j].score, frame)
				usedLeft[j] = true
				nowTracked = append(nowTracked, t)
			} // else removed
		}
		for j, det := range leftHigh {
			if usedLeft[j] || det.score < cfg.TrackThresh+0.1 {
				continue
			}
			nextID++
			t := newBTTrack(det.xyah, det.score)
			t.id, t.endFrame, t.started = nextID, frame, frame
			t.activated = frame == 1
			nowTracked = append(nowTracked, t)
		}
		var keepLost []*btTrack
		for _, t := range nowLost {
			if frame-t.endFrame <= maxLost {
				keepLost = append(keepLost, t)
			}
		}
		tracked, lost = removeDuplicates(nowTracked, keepLost)
		for _, t := range tracked {
			if !t.activated || t.endFrame != frame {
				continue
			}
			b := t.tlbr()
			out[fi] = append(out[fi], MOTBox{ID: t.id, Box: inference.Detection{X1: float32(b[0] - off), Y1: float32(b[1]), X2: float32(b[2] - off), Y2: float32(b[3])}})
		}
	}
	return out
}

// removeDuplicates is ByteTrack's remove_duplicate_stracks: a tracked and a
// lost track closer than IoU distance 0.15 are one object; the one tracked
// for fewer frames goes.
func removeDuplicates(tracked, lost []*btTrack) ([]*btTrack, []*btTrack) {
	dropT := make([]bool, len(tracked))
	dropL := make([]bool, len(lost))
	for i, a := range tracked {
		for j, b := range lost {
			if 1-iouTLBR(a.tlbr(), b.tlbr()) < 0.15 {
				if a.endFrame-a.started > b.endFrame-b.started {
					dropL[j] = true
				} else {
					dropT[i] = true
				}
			}
		}
	}
	var t2, l2 []*btTrack
	for i, t := range tracked {
		if !dropT[i] {
			t2 = append(t2, t)
		}
	}
	for j, t := range lost {
		if !dropL[j] {
			l2 = append(l2, t)
		}
	}
	return t2, l2
}
