package track

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/cropstream/cropstream/schema"
)

// Det is one detection in frame pixels.
type Det struct {
	X1, Y1, X2, Y2 float64
	Class          int
	Score          float64
}

func (d Det) cx() float64 { return (d.X1 + d.X2) / 2 }
func (d Det) cy() float64 { return (d.Y1 + d.Y2) / 2 }
func (d Det) w() float64  { return d.X2 - d.X1 }
func (d Det) h() float64  { return d.Y2 - d.Y1 }

func iou(a, b Det) float64 {
	ix := min(a.X2, b.X2) - max(a.X1, b.X1)
	iy := min(a.Y2, b.Y2) - max(a.Y1, b.Y1)
	if ix <= 0 || iy <= 0 {
		return 0
	}
	in := ix * iy
	return in / (a.w()*a.h() + b.w()*b.h() - in)
}

// Params tune the tracker. The zero value of a field means its default.
type Params struct {
	// HighScore splits detections for the two association stages. Default 0.5.
	HighScore float64
	// LowScore drops detections below it entirely. Default 0.1.
	LowScore float64
	// NewTrackScore is the least score that starts a track. Default 0.6,
	// ByteTrack's new-track threshold (the high threshold plus 0.1).
	NewTrackScore float64
	// MatchIoU is the least IoU for a first-stage match. Default 0.2.
	MatchIoU float64
	// LowMatchIoU is the least IoU for a second-stage match. Default 0.4.
	LowMatchIoU float64
	// MinHits confirms a track: it is reported, and tracks confirmed later
	// on top of it are duplicates. Default 3.
	MinHits int
	// MinHitsShare lowers MinHits where the scene crosses the view in few
	// frames: a track needs this share of the frames an object stays in
	// view, rounded up, at least 2 and at most MinHits. Default 0.12 (3 of
	// the 25 frames of a 1 m/s camera at 10 fps with a 2.5 m view): where a
	// fruit is in view a few frames, 3 hits miss fruit that leaves hide in
	// all but two (figures: benchmarks/results.md).
	MinHitsShare float64
	// CountScores, per class, is the median score of a track's hits at
	// which its object counts as visible from the camera. Default: the
	// frame's CountScores (the model's count_scores metadata), else 0.5.
	//
	// A fruit mostly behind leaves is found in some frames with a low
	// score; counting it by its best few scores counted noise: the more
	// frames a fruit stayed in view, the likelier a few high scores (the
	// count error followed the frame rate; benchmarks/results.md).
	// The median over the whole track estimates how much of the fruit the
	// camera sees, whatever the frame rate; the score it takes per class is
	// calibrated on validation fields, as a detector's score means
	// different visibility for a round apple and a grape cluster.
	CountScores []float64
	// MaxLostShift: a track unseen (a leaf in front) survives until the
	// scene has moved this share of the frame width since it was last seen.
	// Default 0.5. Occlusion by a static leaf lasts a distance, not a number
	// of frames: with a fixed count of frames, tracks at high frame rates
	// died behind leaves and were counted again (benchmarks/results.md).
	MaxLostShift float64
	// MaxLost frames a track survives unseen whatever the motion (a camera
	// standing still). Default 50.
	MaxLost int
	// DuplicateIoU: a track confirmed while overlapping an already confirmed
	// track (matched, or lost and predicted) by more than this is the same
	// object and is not counted again. Default 0.4: split detections and re-started tracks of
	// one fruit overlap that much, two distinct fruit only when the back one
	// is mostly hidden; a lower bar undercounts overlapping fruit
	// (benchmarks/results.md).
	DuplicateIoU float64
	// RecoverDist: a confirmed track IoU could not match takes a
	// high-score detection of its class whose centre is within this many
	// box sizes (and whose height is within a factor 0.6). Default 0.8: a
	// track lost behind a leaf is re-found rather than started again on the
	// same fruit (benchmarks/results.md).
	RecoverDist float64
	// ReportHits: a track is reported as a live tracker's output (MOT
	// results, scored online) from this many hits on, in the frames it is
	// matched. Default 2, ByteTrack's activation. Counting still waits for
	// confirmation (MinHits): reporting a track early costs a false positive
	// in a frame, counting it early an object.
	ReportHits int
}

func (p Params) withDefaults() Params {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&p.HighScore, 0.5)
	def(&p.LowScore, 0.1)
	def(&p.NewTrackScore, 0.6)
	def(&p.MatchIoU, 0.2)
	def(&p.LowMatchIoU, 0.4)
	if p.MinHits == 0 {
		p.MinHits = 3
	}
	if p.MaxLost == 0 {
		p.MaxLost = 50
	}
	def(&p.MaxLostShift, 0.5)
	def(&p.MinHitsShare, 0.12)
	def(&p.DuplicateIoU, 0.4)
	def(&p.RecoverDist, 0.8)
	if p.ReportHits == 0 {
		p.ReportHits = 2
	}
	return p
}

// Reported tells whether a live tracker outputs t in the frame just applied:
// matched in it by a sure association (not WeakMatch), and confirmed or hit
// ReportHits times. A duplicate is output too: it is a box on a fruit, only
// not counted again (see State.Reports for the id it is output under).
func (p Params) Reported(t *Track) bool {
	p = p.withDefaults()
	return t.Lost == 0 && !t.WeakMatch && (t.Confirmed || t.Hits() >= p.ReportHits)
}

// Report is one box of a live tracker's output: a track, and the id it is
// output under.
type Report struct {
	Track *Track
	ID    uint64
}

// Reports is the live tracker's output for the frame just applied: the
// tracks Reported, each under its own id, except a duplicate whose original
// (DuplicateOf) was not matched in the frame: it goes on under the
// original's id, as the fruit the tracker judged it to be. A fruit a leaf
// uncovered is re-detected beside its coasting track; output under a new id,
// it broke the fruit's identity (and, left out of the output, lost its boxes:
// on grape fields these were the boxes ByteTrack output and this tracker did
// not, benchmarks/results.md).
func (s *State) Reports(p Params) []Report {
	matched := map[uint64]bool{}
	for _, t := range s.Tracks {
		if t.Lost == 0 {
			matched[t.ID] = true
		}
	}
	var out []Report
	for _, t := range s.Tracks {
		if !p.Reported(t) {
			continue
		}
		id := t.ID
		if t.Duplicate && t.DuplicateOf != 0 && !matched[t.DuplicateOf] {
			id = t.DuplicateOf
		}
		out = append(out, Report{Track: t, ID: id})
	}
	return out
}

// Track is one tracked object. Exported fields are the persisted state.
type Track struct {
	ID     uint64
	CX, CY kf1
	W, H   kf1
	Class  int
	Votes  map[int]float64 // summed score per class
	// Scores are the scores of the hits (the frames it was matched in), in
	// 1/255 steps (a byte a frame: the state is written with every frame).
	Scores []uint8
	Lost   int // frames since last matched
	// LostShift is how far (pixels) the scene moved since last matched.
	LostShift float64
	Confirmed bool
	Duplicate bool // confirmed on top of a confirmed track: not counted
	// DuplicateOf is the id of the confirmed track a duplicate was confirmed
	// on top of (0 for tracks that are not duplicates, and for duplicates
	// in state saved before it was kept).
	DuplicateOf uint64
	// WeakMatch: the track's last match was by centre distance (recover),
	// or re-found it after frames unseen through a low-score detection.
	// Such a match keeps the track alive but is not output live: on grape
	// fields half of those boxes missed their fruit, where sure matches
	// missed one in ten (benchmarks/results.md).
	WeakMatch bool
	FirstSeq  uint64
	LastSeq   uint64
	Best      Det // highest-scoring detection
	// PositionM is the object's position along the row, when known.
	PositionM *float64
	FirstNs   int64 // capture time of the first frame
	LastNs    int64
	// Model is the id of the model whose boxes made the track (MixedModels
	// of them when a switch fell inside it).
	Model string
}

func (t *Track) box() Det {
	w, h := max(1, t.W.X), max(1, t.H.X)
	return Det{X1: t.CX.X - w/2, Y1: t.CY.X - h/2, X2: t.CX.X + w/2, Y2: t.CY.X + h/2, Class: t.Class}
}

// State is a camera's tracker: everything needed to resume after a restart.
type State struct {
	NextID uint64
	Tracks []*Track
	// LastSeq is the last frame applied; frames at or below it are replays.
	LastSeq uint64
	Started bool
	// LastPos and PxPerM estimate camera motion from position metadata.
	LastPos *float64
	PxPerM  float64
	LastDX  float64 // last estimated shift, pixels per frame
	// MeanDX is the scene's mean speed, |pixels| per frame (0: not known yet).
	MeanDX   float64
	LastDets []Det
	RowID    string
	Width    int
}

// Frame is one frame's input.
type Frame struct {
	Seq       uint64
	CaptureNs int64
	RowID     string
	PositionM *float64
	Width     int
	Dets      []Det
	// CountScores are the detector's own, per class (see
	// schema.Detections.count_scores); nil when unknown.
	CountScores []float64
	// End marks the end of the stream: every open track is decided.
	End bool
	// Model is the id of the model that found Dets.
	Model string
}

// FrameOf turns a detections record into the tracker's input.
func FrameOf(d *schema.Detections) Frame {
	f := Frame{Seq: d.GetSequence(), CaptureNs: d.GetCaptureUnixNs(), RowID: d.GetRowId(), PositionM: d.PositionM,
		Width: int(d.GetWidth()), End: d.GetEndOfStream(), Model: d.GetModelId()}
	for _, c := range d.GetCountScores() {
		f.CountScores = append(f.CountScores, float64(c))
	}
	for _, x := range d.GetDetections() {
		b := x.GetBox()
		f.Dets = append(f.Dets, Det{X1: float64(b.GetX1()), Y1: float64(b.GetY1()), X2: float64(b.GetX2()), Y2: float64(b.GetY2()),
			Class: int(x.GetClassId()), Score: float64(x.GetScore())})
	}
	return f
}

// Step applies one frame and returns the objects counted by it: tracks that
// ended with it (they left the view, were lost for good, or the row or the
// stream ended) and whose median score reaches their class's count score.
// An object is counted when it has left the view, not when first seen: only
// then are all its frames known. Replayed frames (sequence at or below the
// last applied) change nothing and return applied=false.
func (s *State) Step(p Params, f Frame) (counted []*Track, applied bool) {
	if p.CountScores == nil {
		p.CountScores = f.CountScores
	}
	p = p.withDefaults()
	if s.Started && f.Seq <= s.LastSeq {
		return nil, false
	}
	if s.Started && f.RowID != s.RowID {
		// A new row: nothing carries over (the camera turned around).
		counted = s.end(p)
		s.LastDets, s.LastPos, s.LastDX = nil, nil, 0
	}
	if f.End {
		counted = append(counted, s.end(p)...)
		s.LastSeq, s.Started, s.RowID = f.Seq, true, f.RowID
		s.LastDets, s.LastPos = nil, nil
		return counted, true
	}
	dt := 1.0
	if s.Started && f.RowID == s.RowID {
		dt = float64(f.Seq - s.LastSeq)
	}
	var dets []Det
	for _, d := range f.Dets {
		if d.Score >= p.LowScore && d.w() > 0 && d.h() > 0 {
			dets = append(dets, d)
		}
	}
	shift := s.cameraShift(f, dets, dt)
	for _, t := range s.Tracks {
		t.CX.X += shift
		if t.Lost > 0 {
			// Unseen, a fruit stands still in the compensated frame: its
			// velocity came from its last, often half-hidden boxes, and
			// coasting on it carried lost tracks off their fruit, which
			// were then started again (benchmarks/results.md).
			t.CX.V, t.CY.V, t.W.V, t.H.V = 0, 0, 0, 0
		}
		q := 0.05 * max(t.H.X, 4)
		t.CX.predict(dt, q, 0.02*q)
		t.CY.predict(dt, q, 0.02*q)
		t.W.predict(dt, 0.5*q, 0.01*q)
		t.H.predict(dt, 0.5*q, 0.01*q)
	}

	var high, low []int
	for i, d := range dets {
		if d.Score >= p.HighScore {
			high = append(high, i)
		} else {
			low = append(low, i)
		}
	}
	matched := make([]bool, len(s.Tracks))
	used := make([]bool, len(dets))
	// Stage 1: all tracks against high-score detections.
	s.associate(dets, high, matched, used, p.MatchIoU, f, false)
	// Stage 2: still-unmatched tracks against low-score detections (an object
	// half behind a leaf scores low but is still there).
	s.associate(dets, low, matched, used, p.LowMatchIoU, f, true)
	// Stage 3: confirmed tracks still unmatched against the high-score
	// detections left, by centre distance: a small box that coasted a few
	// frames behind a leaf can miss its fruit by half its size, and IoU is
	// zero by then although the fruit is plainly the same.
	s.recover(dets, high, matched, used, p.RecoverDist, f)

	var keep []*Track
	for i, t := range s.Tracks {
		if !matched[i] {
			t.Lost++
			t.LostShift += math.Abs(shift)
		}
		b := t.box()
		outside := b.X2 < 0 || b.X1 > float64(f.Width)
		if t.Lost > p.MaxLost || t.LostShift > p.MaxLostShift*float64(f.Width) || (outside && t.Lost > 0) || (!t.Confirmed && t.Lost > 1) {
			if p.counts(t) {
				counted = append(counted, t)
			}
			continue
		}
		keep = append(keep, t)
	}
	s.Tracks = keep
	minHits := s.minHits(p, f.Width)
	for _, t := range s.Tracks {
		if !t.Confirmed && t.Hits() >= minHits {
			t.Confirmed = true
			// On top of a confirmed track, it is the same fruit (a detector
			// split it, or its track was re-started): tracked, not counted.
			t.DuplicateOf = s.duplicate(t, p.DuplicateIoU)
			t.Duplicate = t.DuplicateOf != 0
		}
	}
	for _, i := range high {
		if used[i] || dets[i].Score < p.NewTrackScore {
			continue
		}
		s.Tracks = append(s.Tracks, s.newTrack(dets[i], f))
	}
	s.LastSeq, s.Started, s.RowID, s.Width = f.Seq, true, f.RowID, f.Width
	s.LastDets = dets
	s.LastPos = f.PositionM
	return counted, true
}

// EndStream ends the camera's stream: every open track is decided (those
// that count are returned) and the next frame starts afresh, whatever its
// sequence, as on a new camera: a stream's count depends on its frames
// only. Track ids go on growing, so ids stay unique across streams. Without
// p.CountScores the tracks are judged by scores (the model's, from the
// frame at hand).
func (s *State) EndStream(p Params, scores []float64) []*Track {
	if p.CountScores == nil {
		p.CountScores = scores
	}
	counted := s.end(p.withDefaults())
	*s = State{NextID: s.NextID}
	return counted
}

// end ends every open track and returns those that count.
func (s *State) end(p Params) (counted []*Track) {
	for _, t := range s.Tracks {
		if p.counts(t) {
			counted = append(counted, t)
		}
	}
	s.Tracks = nil
	return counted
}

// counts reports whether an ended track is an object seen well enough to be
// counted: confirmed, not a duplicate, and the median of its hit scores at
// least its class's count score.
func (p Params) counts(t *Track) bool {
	if !t.Confirmed || t.Duplicate || len(t.Scores) == 0 {
		return false
	}
	bar := 0.5
	if t.Class >= 0 && t.Class < len(p.CountScores) && p.CountScores[t.Class] > 0 {
		bar = p.CountScores[t.Class]
	}
	return t.MedianScore() >= bar
}

// Hits is how many frames the track was matched in.
func (t *Track) Hits() int { return len(t.Scores) }

// MedianScore is the median of the track's hit scores.
func (t *Track) MedianScore() float64 {
	c := slices.Clone(t.Scores)
	slices.Sort(c)
	n := len(c)
	if n == 0 {
		return 0
	}
	return (float64(c[(n-1)/2]) + float64(c[n/2])) / 510
}

// score8 stores a score in a byte.
func score8(v float64) uint8 { return uint8(math.Round(min(max(v, 0), 1) * 255)) }

func (s *State) newTrack(d Det, f Frame) *Track {
	s.NextID++
	h := max(d.h(), 4)
	// Velocities start near zero with a small spread: after the camera's
	// shift is taken out, fruit on a plant stands still, and a box that
	// shrinks behind a leaf must not teach the filter a motion to coast on
	// (a start spread of half a box made lost tracks drift off their fruit:
	// 72 of 218 fragments on the default field; 31 after).
	t := &Track{ID: s.NextID, CX: newKF1(d.cx(), 0.1*h, 0.05*h), CY: newKF1(d.cy(), 0.1*h, 0.05*h),
		W: newKF1(d.w(), 0.1*h, 0.01*h), H: newKF1(d.h(), 0.1*h, 0.01*h),
		Class: d.Class, Votes: map[int]float64{d.Class: d.Score}, Scores: []uint8{score8(d.Score)}, FirstSeq: f.Seq, LastSeq: f.Seq, Best: d,
		FirstNs: f.CaptureNs, LastNs: f.CaptureNs, Model: f.Model}
	t.PositionM = s.objectPosition(d, f)
	return t
}

// objectPosition places a box along the row: the camera's position plus the
// box's offset from the frame centre, once pixels per metre are known.
func (s *State) objectPosition(d Det, f Frame) *float64 {
	if f.PositionM == nil || s.PxPerM <= 0 {
		return nil
	}
	x := *f.PositionM + (d.cx()-float64(f.Width)/2)/s.PxPerM
	return &x
}

// associate matches unmatched tracks to candidate detections greedily by
// IoU; low says the candidates are low-score detections.
func (s *State) associate(dets []Det, cand []int, matched, used []bool, minIoU float64, f Frame, low bool) {
	s.greedy(dets, cand, matched, used, f, func(t *Track) bool { return low && t.Lost > 0 }, func(t *Track, tb, d Det) (float64, bool) {
		v := iou(tb, d)
		return v, v >= minIoU
	})
}

// recover matches unmatched confirmed tracks to unused detections of their
// class whose centre lies within maxDist of the track's size and whose size is
// alike, nearest first.
func (s *State) recover(dets []Det, cand []int, matched, used []bool, maxDist float64, f Frame) {
	s.greedy(dets, cand, matched, used, f, func(*Track) bool { return true }, func(t *Track, tb, d Det) (float64, bool) {
		if !t.Confirmed || d.Class != t.Class {
			return 0, false
		}
		if r := d.h() / max(tb.h(), 1); r < 0.6 || r > 1/0.6 {
			return 0, false
		}
		size := max(max(tb.h(), tb.w()), max(d.h(), d.w()))
		dist := math.Hypot(d.cx()-tb.cx(), d.cy()-tb.cy()) / size
		return -dist, dist <= maxDist
	})
}

// greedy pairs unmatched tracks with unused candidate detections, best score
// first (ties by track, then detection, for determinism), and applies each
// pair; score says how well a track (its current box tb) fits a detection,
// weak whether a match of that track is a WeakMatch.
func (s *State) greedy(dets []Det, cand []int, matched, used []bool, f Frame, weak func(t *Track) bool, score func(t *Track, tb, d Det) (float64, bool)) {
	type pair struct {
		t, d int
		v    float64
	}
	var pairs []pair
	for ti, t := range s.Tracks {
		if matched[ti] {
			continue
		}
		tb := t.box()
		for _, di := range cand {
			if used[di] {
				continue
			}
			if v, ok := score(t, tb, dets[di]); ok {
				pairs = append(pairs, pair{ti, di, v})
			}
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if a.v != b.v {
			return cmp.Compare(b.v, a.v)
		}
		if a.t != b.t {
			return cmp.Compare(a.t, b.t)
		}
		return cmp.Compare(a.d, b.d)
	})
	for _, pr := range pairs {
		if matched[pr.t] || used[pr.d] {
			continue
		}
		matched[pr.t], used[pr.d] = true, true
		t := s.Tracks[pr.t]
		t.WeakMatch = weak(t)
		s.apply(t, dets[pr.d], f)
	}
}

// apply folds a matched detection into its track.
func (s *State) apply(t *Track, d Det, f Frame) {
	r := 0.05 * max(d.h(), 4)
	t.CX.update(d.cx(), r)
	t.CY.update(d.cy(), r)
	t.W.update(d.w(), r)
	t.H.update(d.h(), r)
	t.Scores = append(t.Scores, score8(d.Score))
	t.Lost, t.LostShift = 0, 0
	t.LastSeq, t.LastNs = f.Seq, f.CaptureNs
	t.Model = MixedModels(t.Model, f.Model)
	t.Votes[d.Class] += d.Score
	best, bc := -1.0, t.Class
	for c, v := range t.Votes {
		if v > best || (v == best && c < bc) {
			best, bc = v, c
		}
	}
	t.Class = bc
	if d.Score > t.Best.Score {
		t.Best = d
	}
	if t.PositionM == nil {
		t.PositionM = s.objectPosition(d, f)
	}
}

// minHits is how many hits confirm a track at the scene's speed (see
// MinHitsShare).
func (s *State) minHits(p Params, width int) int {
	if s.MeanDX <= 0 || width <= 0 {
		return p.MinHits
	}
	n := math.Ceil(p.MinHitsShare * float64(width) / s.MeanDX)
	return int(min(max(n, 2), float64(p.MinHits)))
}

// cameraShift estimates how far the scene moved horizontally since the last
// frame, in pixels: the mode of the horizontal offsets between last frame's
// and this frame's detections of the same class at about the same height,
// searched around a prior from the position metadata (or the last shift).
func (s *State) cameraShift(f Frame, dets []Det, dt float64) float64 {
	if !s.Started || f.RowID != s.RowID || len(s.LastDets) == 0 || len(dets) == 0 {
		return 0
	}
	prior, window := s.LastDX*dt, float64(f.Width)/3
	havePos := f.PositionM != nil && s.LastPos != nil
	if havePos && s.PxPerM > 0 {
		prior = -(*f.PositionM - *s.LastPos) * s.PxPerM
		window = float64(f.Width) / 8
	}
	// Offsets between boxes that could be the same fruit (same class, about
	// the same height and size), in one pass over the pairs.
	var dxs []float64
	for _, a := range s.LastDets {
		for _, b := range dets {
			if a.Class != b.Class || math.Abs(a.cy()-b.cy()) > 0.3*a.h() || math.Abs(a.h()-b.h()) > 0.4*a.h() {
				continue
			}
			dxs = append(dxs, b.cx()-a.cx())
		}
	}
	const bin = 3.0
	hist := map[int]float64{}
	for _, dx := range dxs {
		if math.Abs(dx-prior) <= window {
			hist[int(math.Floor(dx/bin))] += 1
		}
	}
	if len(hist) == 0 {
		return prior
	}
	// The peak of the histogram smoothed over three bins.
	bestBin, bestVal := 0, -1.0
	for k := range hist {
		v := hist[k-1] + hist[k] + hist[k+1]
		if v > bestVal || (v == bestVal && k < bestBin) {
			bestBin, bestVal = k, v
		}
	}
	if bestVal < 3 {
		return prior
	}
	var sum, n float64
	for _, dx := range dxs {
		if dx >= float64(bestBin-1)*bin && dx < float64(bestBin+2)*bin {
			sum += dx
			n++
		}
	}
	shift := sum / n
	s.LastDX = shift / dt
	if s.MeanDX == 0 {
		s.MeanDX = math.Abs(s.LastDX)
	} else {
		s.MeanDX = 0.9*s.MeanDX + 0.1*math.Abs(s.LastDX)
	}
	if havePos {
		if dm := *f.PositionM - *s.LastPos; math.Abs(dm) > 1e-6 {
			est := -shift / dm
			if est > 0 {
				if s.PxPerM == 0 {
					s.PxPerM = est
				} else {
					s.PxPerM = 0.9*s.PxPerM + 0.1*est
				}
			}
		}
	}
	return shift
}

// Box is the track's current box.
func (t *Track) Box() Det { return t.box() }

// duplicate returns the id of a confirmed track t overlaps, matched this
// frame or lost and predicted (0: none): a fruit a leaf uncovers is
// re-detected beside its own coasting track (benchmarks/results.md).
func (s *State) duplicate(t *Track, thr float64) (of uint64) {
	b := t.box()
	for _, o := range s.Tracks {
		if o == t || !o.Confirmed || o.Duplicate || o.ID > t.ID {
			continue
		}
		if iou(b, o.box()) > thr {
			return o.ID
		}
	}
	return 0
}

// MixedPrefix starts the model id of an object whose track holds boxes of
// more than one model.
const MixedPrefix = "mixed:"

// MixedModels is the model id of a track of model a that took a box of
// model b: a when they agree, else "mixed:" and every id once, joined by
// "," (ids hold "+" themselves). A count from two models is never
// silently given to one of them.
func MixedModels(a, b string) string {
	if a == b || b == "" {
		return a
	}
	if a == "" {
		return b
	}
	ids := strings.Split(strings.TrimPrefix(a, MixedPrefix), ",")
	if slices.Contains(ids, b) {
		return a
	}
	return MixedPrefix + strings.Join(append(ids, b), ",")
}
