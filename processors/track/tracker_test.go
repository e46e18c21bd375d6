package track

import (
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/cropstream/cropstream/simulator"
)

// scene is a hand-built world: static objects on the canopy plane seen by a
// camera moving right by speed px/frame.
type obj struct {
	x, y, size float64
	class      int
}

func box(o obj, camX float64, score float64) Det {
	x := o.x - camX
	return Det{X1: x - o.size/2, Y1: o.y - o.size/2, X2: x + o.size/2, Y2: o.y + o.size/2, Class: o.class, Score: score}
}

// run tracks frames, then ends the stream.
func run(t *testing.T, frames []Frame) (counted []*Track, s *State) {
	t.Helper()
	return runWith(t, Params{}, frames)
}

func runWith(t *testing.T, p Params, frames []Frame) (counted []*Track, s *State) {
	t.Helper()
	s = &State{}
	for _, f := range append(frames, end(frames)) {
		c, _ := s.Step(p, f)
		counted = append(counted, c...)
	}
	return counted, s
}

// end is the end of stream after frames.
func end(frames []Frame) Frame {
	last := frames[len(frames)-1]
	return Frame{Seq: last.Seq + 1, RowID: last.RowID, Width: last.Width, End: true}
}

// background gives the motion estimate a field of static fruit to vote with.
func background(n int) []obj {
	var out []obj
	for i := 0; i < n; i++ {
		out = append(out, obj{x: float64(60 + i*97), y: float64(40 + (i*53)%300), size: 30})
	}
	return out
}

func frames(objs []obj, n int, cam func(i int) float64, score func(o, i int) float64) []Frame {
	var fs []Frame
	for i := 0; i < n; i++ {
		f := Frame{Seq: uint64(i), RowID: "R1", Width: 640}
		for k, o := range objs {
			d := box(o, cam(i), 0.9)
			if d.X2 < 0 || d.X1 > 640 {
				continue
			}
			sc := score(k, i)
			if sc <= 0 {
				continue
			}
			d.Score = sc
			f.Dets = append(f.Dets, d)
		}
		fs = append(fs, f)
	}
	return fs
}

func always(int, int) float64 { return 0.9 }

// seenAtLeast counts the objects inside the 640-px view in at least n frames.
func seenAtLeast(objs []obj, frames int, cam func(int) float64, n int) int {
	want := 0
	for _, o := range objs {
		seen := 0
		for i := 0; i < frames; i++ {
			if d := box(o, cam(i), 0.9); d.X2 >= 0 && d.X1 <= 640 {
				seen++
			}
		}
		if seen >= n {
			want++
		}
	}
	return want
}

func TestStaticSceneCountedOnce(t *testing.T) {
	objs := background(30)
	cam := func(i int) float64 { return float64(i) * 40 }
	counted, _ := run(t, frames(objs, 60, cam, always))
	// Every object that stays in view long enough counts once: 2 frames at
	// 40 px/frame, where the scene crosses the view in 16 (MinHitsShare).
	if want := seenAtLeast(objs, 60, cam, 2); len(counted) != want || want < 25 {
		t.Fatalf("counted %d, want %d", len(counted), want)
	}
}

func TestOccludedForFiveFramesKeepsItsID(t *testing.T) {
	objs := background(20)
	hidden := 7
	cam := func(i int) float64 { return float64(i) * 20 }
	fs := frames(objs, 50, cam, func(k, i int) float64 {
		if k == hidden && i >= 10 && i < 15 {
			return 0 // behind a leaf for five frames
		}
		return 0.9
	})
	counted, _ := run(t, fs)
	if want := seenAtLeast(objs, 50, cam, 3); len(counted) != want {
		t.Fatalf("counted %d, want %d: the occluded object was counted twice or lost", len(counted), want)
	}
	ids := map[uint64]bool{}
	for _, c := range counted {
		if ids[c.ID] {
			t.Fatal("a track counted twice")
		}
		ids[c.ID] = true
	}
}

func TestFlickerBelowHighThreshold(t *testing.T) {
	objs := background(20)
	cam := func(i int) float64 { return float64(i) * 20 }
	fs := frames(objs, 50, cam, func(k, i int) float64 {
		if k == 3 && i%2 == 1 {
			return 0.3 // low score every other frame: the second stage keeps it
		}
		return 0.9
	})
	counted, _ := run(t, fs)
	if want := seenAtLeast(objs, 50, cam, 3); len(counted) != want {
		t.Fatalf("counted %d, want %d", len(counted), want)
	}
	for _, c := range counted {
		if c.Hits() < 3 {
			t.Fatalf("track %d counted after %d hits", c.ID, c.Hits())
		}
	}
}

func TestCrossingObjects(t *testing.T) {
	// Two fruit swinging past each other (a branch moving) against a static field.
	objs := background(15)
	a, b := len(objs), len(objs)+1
	objs = append(objs, obj{x: 300, y: 150, size: 30}, obj{x: 420, y: 160, size: 30})
	n := 40
	var fs []Frame
	for i := 0; i < n; i++ {
		cam := float64(i) * 10
		f := Frame{Seq: uint64(i), RowID: "R1", Width: 640}
		for k, o := range objs {
			switch k {
			case a:
				o.x += float64(i) * 3
			case b:
				o.x -= float64(i) * 3
			}
			d := box(o, cam, 0.9)
			if d.X2 < 0 || d.X1 > 640 {
				continue
			}
			f.Dets = append(f.Dets, d)
		}
		fs = append(fs, f)
	}
	counted, _ := run(t, fs)
	want := seenAtLeast(objs[:a], n, func(i int) float64 { return float64(i) * 10 }, 3) + 2
	if len(counted) != want {
		t.Fatalf("counted %d, want %d (crossing objects swapped, merged or split)", len(counted), want)
	}
}

func TestCameraSpeedUp(t *testing.T) {
	objs := background(60)
	cam := func(i int) float64 {
		if i < 20 {
			return float64(i) * 15
		}
		return 300 + float64(i-20)*45 // three times faster
	}
	counted, _ := run(t, frames(objs, 60, cam, always))
	if want := seenAtLeast(objs, 60, cam, 3); len(counted) != want {
		t.Fatalf("counted %d, want %d", len(counted), want)
	}
}

func TestReplaysAndGaps(t *testing.T) {
	objs := background(20)
	cam := func(i int) float64 { return float64(i) * 20 }
	fs := frames(objs, 40, cam, always)
	s := &State{}
	total := 0
	for i, f := range fs {
		if i == 17 || i == 18 {
			continue // dropped frames
		}
		c, applied := s.Step(Params{}, f)
		if !applied {
			t.Fatalf("frame %d not applied", f.Seq)
		}
		total += len(c)
		if i%5 == 0 { // replay a window, as after a crash
			for _, old := range fs[max(0, i-3) : i+1] {
				if c, applied := s.Step(Params{}, old); applied || len(c) > 0 {
					t.Fatalf("replayed frame %d applied", old.Seq)
				}
			}
		}
	}
	c, _ := s.Step(Params{}, end(fs))
	total += len(c)
	if c, applied := s.Step(Params{}, end(fs)); applied || len(c) > 0 {
		t.Fatal("replayed end of stream applied")
	}
	if want := seenAtLeast(objs, 40, cam, 3); total != want {
		t.Fatalf("counted %d, want %d", total, want)
	}
}

// Perfect detections from the simulator's truth (units at least 25 % visible,
// a lower score for the less visible): the count must match the units the
// camera could see, within 3 %.
func TestCountsSimulatorTruth(t *testing.T) {
	sc, err := simulator.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	sc.Rows = 1
	sc.PlantsPerRow = 8
	sim := simulator.New(sc)
	defer sim.Close()
	s := &State{}
	counted := 0
	var last Frame
	for {
		f, err := sim.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pos := f.PositionM
		fr := Frame{Seq: f.Sequence, RowID: f.RowID, PositionM: &pos, Width: sc.Camera.Width}
		for _, b := range f.Boxes {
			if b.Visibility < 0.25 {
				continue
			}
			score := 0.5 + 0.5*b.Visibility
			fr.Dets = append(fr.Dets, Det{X1: float64(max(0, b.Rect.Min.X)), Y1: float64(b.Rect.Min.Y),
				X2: float64(min(sc.Camera.Width, b.Rect.Max.X)), Y2: float64(b.Rect.Max.Y), Class: b.ClassID, Score: score})
		}
		c, _ := s.Step(Params{}, fr)
		counted += len(c)
		last = fr
	}
	c, _ := s.Step(Params{}, end([]Frame{last}))
	counted += len(c)
	truth := sim.Truth()
	visible := truth.Totals.VisibleUnits
	errPct := 100 * float64(counted-visible) / float64(visible)
	t.Logf("counted %d, visible %d, error %.1f%%, px/m %.0f (true %.0f)", counted, visible, errPct, s.PxPerM, sc.PixelsPerMetre())
	if errPct > 3 || errPct < -3 {
		t.Fatalf("count error %.1f%%, want within 3%%", errPct)
	}
	if s.PxPerM < 0.9*sc.PixelsPerMetre() || s.PxPerM > 1.1*sc.PixelsPerMetre() {
		t.Fatalf("pixels per metre %.0f, true %.0f", s.PxPerM, sc.PixelsPerMetre())
	}
}

// A fruit slides behind a leaf the way real ones do: its box shrinks to the
// part still in view and drifts towards it for a few frames, it is gone for
// six, and it comes back whole, half a box from where the shrinking box was
// heading. It is one fruit, counted once.
func TestShrinkingBehindLeafThenBack(t *testing.T) {
	objs := background(20)
	hidden := 6 // starts at x 642: in view from frame 1, behind the leaf 13-18
	cam := func(i int) float64 { return float64(i) * 25 }
	fs := frames(objs, 50, cam, always)
	for i := range fs {
		for k, d := range fs[i].Dets {
			o := objs[hidden]
			if d != box(o, cam(i), d.Score) {
				continue
			}
			switch {
			case i >= 9 && i < 13: // the right side goes behind the leaf
				cut := float64(i-8) * 0.2 * o.size
				fs[i].Dets[k].X2 -= cut
				fs[i].Dets[k].Score = 0.6
			case i >= 13 && i < 19:
				fs[i].Dets[k].Score = 0 // hidden
			}
		}
		var keep []Det
		for _, d := range fs[i].Dets {
			if d.Score > 0 {
				keep = append(keep, d)
			}
		}
		fs[i].Dets = keep
	}
	counted, _ := run(t, fs)
	if want := seenAtLeast(objs, 50, cam, 3); len(counted) != want {
		t.Fatalf("counted %d, want %d: the fruit behind the leaf was counted twice or lost", len(counted), want)
	}
}

// A leaf hides a fruit for a stretch of the row, not for a number of frames:
// at a high frame rate that is many frames (20 here, the camera moving
// 8 px a frame), and the fruit keeps its track.
func TestLongOcclusionAtHighFrameRate(t *testing.T) {
	objs := background(12)
	hidden := 3 // x 351: in view from the start
	cam := func(i int) float64 { return float64(i) * 8 }
	fs := frames(objs, 90, cam, func(k, i int) float64 {
		if k == hidden && i >= 10 && i < 30 {
			return 0
		}
		return 0.9
	})
	counted, _ := run(t, fs)
	if want := seenAtLeast(objs, 90, cam, 3); len(counted) != want {
		t.Fatalf("counted %d, want %d: the fruit behind the leaf was counted twice", len(counted), want)
	}
}

// faintScores scores the object k=faint by pattern (cycled over its frames)
// and every other 0.9.
func faintScores(faint int, pattern []float64) func(k, i int) float64 {
	seen := 0
	return func(k, i int) float64 {
		if k != faint {
			return 0.9
		}
		seen++
		return pattern[(seen-1)%len(pattern)]
	}
}

// countedObj reports whether o is among the counted tracks.
func countedObj(counted []*Track, o obj) bool {
	for _, tr := range counted {
		if tr.Best.Y1 == o.y-o.size/2 {
			return true
		}
	}
	return false
}

// Whether a fruit counts depends on how it is seen over its whole track, not
// on how often it was looked at: one the detector is sure of one frame in
// four (a sliver between leaves that sometimes looks whole) is not counted,
// one it is sure of three frames in four is, whether the camera passes it in
// 20 frames or looks at it for 80.
func TestCountDecidedByMedianWhateverTheFramesInView(t *testing.T) {
	objs := background(20)
	faint := 4
	for _, speed := range []float64{32, 8} {
		for _, tc := range []struct {
			pattern []float64
			counted bool
		}{{[]float64{0.8, 0.4, 0.4, 0.4}, false}, {[]float64{0.8, 0.8, 0.4, 0.8}, true}} {
			cam := func(i int) float64 { return float64(i) * speed }
			fs := frames(objs, int(640/speed)+20, cam, faintScores(faint, tc.pattern))
			for i := range fs {
				fs[i].CountScores = []float64{0.7}
			}
			counted, _ := run(t, fs)
			if got := countedObj(counted, objs[faint]); got != tc.counted {
				t.Fatalf("%.0f px/frame, scores %v: counted %v, want %v", speed, tc.pattern, got, tc.counted)
			}
			if want := seenAtLeast(objs, len(fs), cam, 3) - 1; len(counted)-btoi(tc.counted) != want {
				t.Fatalf("%.0f px/frame: %d others counted, want %d", speed, len(counted)-btoi(tc.counted), want)
			}
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Count scores are per class (a score means different visibility for an
// apple and a grape cluster), from the detector unless set; a class the
// detector gives none for takes 0.5.
func TestCountScoresPerClass(t *testing.T) {
	objs := background(20)
	faint := 4
	objs[faint].class = 1
	for _, tc := range []struct {
		fromFrame, params []float64
		counted           bool
	}{
		{[]float64{0.7, 0.55}, nil, true},  // class 1's own bar: 0.6 >= 0.55
		{[]float64{0.55, 0.7}, nil, false}, // 0.6 < 0.7
		{[]float64{0.7}, nil, true},        // no word for class 1: 0.5
		{[]float64{0.7, 0.55}, []float64{0.5, 0.65}, false},
	} {
		cam := func(i int) float64 { return float64(i) * 20 }
		fs := frames(objs, 40, cam, faintScores(faint, []float64{0.6}))
		for i := range fs {
			fs[i].CountScores = tc.fromFrame
		}
		counted, _ := runWith(t, Params{CountScores: tc.params}, fs)
		if got := countedObj(counted, objs[faint]); got != tc.counted {
			t.Fatalf("count scores %v (params %v): counted %v, want %v", tc.fromFrame, tc.params, got, tc.counted)
		}
	}
}

// An object is counted in the frame its track ends, with all its frames
// known; the stream's end decides the tracks still open, once.
func TestCountedWhenTrackEnds(t *testing.T) {
	objs := []obj{{x: 100, y: 100, size: 30}, {x: 900, y: 200, size: 30}}
	objs = append(objs, background(8)...)
	cam := func(i int) float64 { return float64(i) * 20 }
	fs := frames(objs, 30, cam, always) // the first leaves at frame 6, the second stays
	s := &State{}
	for _, f := range fs {
		c, _ := s.Step(Params{}, f)
		for _, tr := range c {
			if tr.Best.Y1 == 85 { // the first
				if f.Seq < tr.LastSeq+1 || tr.LastSeq != 5 || tr.FirstSeq != 0 {
					t.Fatalf("first object counted at frame %d, seen %d-%d", f.Seq, tr.FirstSeq, tr.LastSeq)
				}
			}
			if tr.Best.Y1 == 185 {
				t.Fatalf("second object counted at frame %d, still in view", f.Seq)
			}
		}
	}
	c, _ := s.Step(Params{}, end(fs))
	if !countedObj(c, objs[1]) {
		t.Fatalf("end of stream counted %d objects, not the one in view", len(c))
	}
	if len(s.Tracks) != 0 {
		t.Fatalf("%d tracks open after the end", len(s.Tracks))
	}
}

// A camera that crosses the view in 8 frames confirms a fruit it found in 2
// of them (3 would be 40 % of its frames); one that takes 32 frames asks 3.
func TestFewFramesInViewNeedFewerHits(t *testing.T) {
	objs := background(40)
	brief := 20 // x 1,999
	for _, tc := range []struct {
		speed   float64
		share   float64
		counted bool
	}{{80, 0, true}, {80, 1, false}, {20, 0, false}} {
		cam := func(i int) float64 { return float64(i) * tc.speed }
		seen := 0
		fs := frames(objs, int(3000/tc.speed), cam, func(k, i int) float64 {
			if k != brief {
				return 0.9
			}
			seen++
			if seen == 3 || seen == 4 {
				return 0.9
			}
			return 0 // behind leaves
		})
		counted, s := runWith(t, Params{MinHitsShare: tc.share}, fs)
		if got := countedObj(counted, objs[brief]); got != tc.counted {
			t.Fatalf("%.0f px/frame (share %.2f, scene %.1f px/frame): counted %v, want %v", tc.speed, tc.share, s.MeanDX, got, tc.counted)
		}
	}
}

// A live tracker's output starts at a track's second hit, before it is
// confirmed for counting, and skips frames it is not matched in.
func TestReportedFromSecondHit(t *testing.T) {
	p := Params{MinHits: 3}
	st := &State{}
	det := Det{X1: 100, Y1: 100, X2: 140, Y2: 140, Score: 0.9}
	var got []bool
	for seq := uint64(1); seq <= 4; seq++ {
		f := Frame{Seq: seq, RowID: "R1", Width: 640, Dets: []Det{det}}
		if seq == 4 {
			f.Dets = nil
		}
		st.Step(p, f)
		got = append(got, len(st.Tracks) == 1 && p.Reported(st.Tracks[0]))
	}
	if !(!got[0] && got[1] && got[2] && !got[3]) || !st.Tracks[0].Confirmed {
		t.Fatalf("reported %v, want from the second hit, not when unmatched", got)
	}
}

// A track re-found after frames unseen through a low-score detection is kept
// but output only from its next match; re-found by a high-score detection
// it is output at once.
func TestWeakRefindNotReported(t *testing.T) {
	p := Params{MinHits: 3}
	box := Det{X1: 100, Y1: 100, X2: 140, Y2: 140}
	at := func(score float64) []Det { d := box; d.Score = score; return []Det{d} }
	for _, tc := range []struct {
		refind float64
		want   []bool // reported in frames 7 and 8
	}{{0.3, []bool{false, true}}, {0.9, []bool{true, true}}} {
		st := &State{}
		var got []bool
		for seq := uint64(1); seq <= 8; seq++ {
			f := Frame{Seq: seq, RowID: "R1", Width: 640}
			switch {
			case seq <= 4:
				f.Dets = at(0.9)
			case seq >= 7:
				f.Dets = at(tc.refind)
			}
			st.Step(p, f)
			if seq >= 7 {
				if len(st.Tracks) != 1 || st.Tracks[0].Lost != 0 {
					t.Fatalf("re-find at score %.1f, frame %d: tracks %+v, want the one track matched", tc.refind, seq, st.Tracks)
				}
				got = append(got, p.Reported(st.Tracks[0]))
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Fatalf("re-found at score %.1f: reported %v in frames 7-8, want %v", tc.refind, got, tc.want)
		}
	}
}

// A duplicate (a second box on a confirmed fruit) is output live; once the
// fruit's first track goes unmatched, under that track's id.
func TestDuplicateReportedUnderOriginalID(t *testing.T) {
	p := Params{MinHits: 3}
	d1 := Det{X1: 100, Y1: 100, X2: 160, Y2: 160, Score: 0.9}
	d2 := Det{X1: 120, Y1: 100, X2: 180, Y2: 160, Score: 0.9} // IoU 0.5 with d1
	st := &State{}
	for seq := uint64(1); seq <= 7; seq++ {
		f := Frame{Seq: seq, RowID: "R1", Width: 640, Dets: []Det{d1}}
		if seq >= 4 {
			f.Dets = append(f.Dets, d2)
		}
		if seq == 7 {
			f.Dets = []Det{d2}
		}
		st.Step(p, f)
	}
	if len(st.Tracks) != 2 {
		t.Fatalf("tracks %d, want 2", len(st.Tracks))
	}
	orig, dup := st.Tracks[0], st.Tracks[1]
	if !dup.Duplicate || dup.DuplicateOf != orig.ID || orig.Lost != 1 {
		t.Fatalf("second track duplicate=%v of %d, first lost %d: want a duplicate of %d, first unmatched", dup.Duplicate, dup.DuplicateOf, orig.Lost, orig.ID)
	}
	rs := st.Reports(p)
	if len(rs) != 1 || rs[0].Track != dup || rs[0].ID != orig.ID {
		t.Fatalf("reports %+v, want the duplicate under id %d", rs, orig.ID)
	}
}
