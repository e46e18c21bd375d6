package evaluation

import (
	"math"
	"math/rand/v2"
	"testing"
)

// denseSeq builds a preprocessed sequence the way TrackEval's
// tests/test_metrics.py does (_from_dense): presence per frame and a
// similarity per frame and identity pair.
func denseSeq(gtPresent, hypPresent [][]int, sim [][][]float64) seq {
	var s seq
	s.nGT, s.nHyp = len(gtPresent[0]), len(hypPresent[0])
	for t := range gtPresent {
		var gs, hs []int
		for g, p := range gtPresent[t] {
			if p == 1 {
				gs = append(gs, g)
			}
		}
		for h, p := range hypPresent[t] {
			if p == 1 {
				hs = append(hs, h)
			}
		}
		m := make([][]float64, len(gs))
		for i, g := range gs {
			m[i] = make([]float64, len(hs))
			for j, h := range hs {
				m[i][j] = sim[t][g][h]
			}
		}
		s.gt, s.hyp, s.sim = append(s.gt, gs), append(s.hyp, hs), append(s.sim, m)
		s.gtDets += len(gs)
		s.hypDets += len(hs)
	}
	return s
}

// byFrame turns per-identity columns (TrackEval's layout: value per frame
// for each id) into per-frame rows.
func byFrame(cols ...[]int) [][]int {
	out := make([][]int, len(cols[0]))
	for t := range out {
		for _, c := range cols {
			out[t] = append(out[t], c[t])
		}
	}
	return out
}

// simOf sets sim[t][g][h] from per-pair series.
func simOf(frames, nGT, nHyp int, pairs map[[2]int][]float64) [][][]float64 {
	s := make([][][]float64, frames)
	for t := range s {
		s[t] = make([][]float64, nGT)
		for g := range s[t] {
			s[t][g] = make([]float64, nHyp)
		}
	}
	for k, v := range pairs {
		for t, x := range v {
			s[t][k[0]][k[1]] = x
		}
	}
	return s
}

// The three sequences of TrackEval's tests/test_metrics.py with the CLEAR and
// Identity figures it expects.
func TestStandardMatchesTrackEvalTests(t *testing.T) {
	cases := []struct {
		name                      string
		sim                       map[[2]int][]float64
		nHyp                      int
		tp, fn, fp, idsw          int
		mota                      float64
		idtp, idfn, idfp          int
		gtCols, hypCols           [][]int
		wantIDR, wantIDP, wantIDF float64
	}{
		{name: "no_confusion", nHyp: 2,
			gtCols:  [][]int{{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}},
			hypCols: [][]int{{1, 1, 1, 1, 0}, {1, 1, 1, 1, 1}},
			sim:     map[[2]int][]float64{{0, 1}: {0, 0, 0, 1, 1}, {1, 0}: {1, 1, 0, 0, 0}},
			tp:      4, fn: 4, fp: 5, idsw: 0, mota: 1 - 9.0/8,
			idtp: 4, idfn: 4, idfp: 5, wantIDR: 4.0 / 8, wantIDP: 4.0 / 9, wantIDF: 2 * 4.0 / 17},
		{name: "with_confusion", nHyp: 2,
			gtCols:  [][]int{{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}},
			hypCols: [][]int{{1, 1, 1, 1, 0}, {1, 1, 1, 1, 1}},
			sim: map[[2]int][]float64{{0, 1}: {0, 0, 0, 1, 1}, {1, 0}: {1, 1, 0, 0, 0},
				{0, 0}: {0, 0, 1, 0, 0}, {1, 1}: {0, 1, 0, 0, 0}},
			tp: 5, fn: 3, fp: 4, idsw: 1, mota: 1 - 8.0/8,
			idtp: 4, idfn: 4, idfp: 5, wantIDR: 4.0 / 8, wantIDP: 4.0 / 9, wantIDF: 2 * 4.0 / 17},
		{name: "split_tracks", nHyp: 5,
			gtCols: [][]int{{1, 1, 0, 1, 1}, {1, 1, 1, 1, 1}},
			hypCols: [][]int{{1, 1, 0, 0, 0}, {0, 0, 1, 1, 1}, {0, 0, 0, 0, 1},
				{0, 0, 1, 1, 1}, {1, 1, 0, 0, 0}},
			sim: map[[2]int][]float64{{0, 0}: {1, 1, 0, 0, 0}, {0, 3}: {0, 0, 0, 1, 1},
				{1, 1}: {0, 0, 1, 1, 0}, {1, 2}: {0, 0, 0, 0, 1}, {1, 4}: {1, 1, 0, 0, 0}},
			tp: 9, fn: 0, fp: 2, idsw: 3, mota: 1 - 5.0/9,
			idtp: 4, idfn: 5, idfp: 7, wantIDR: 4.0 / 9, wantIDP: 4.0 / 11, wantIDF: 2 * 4.0 / 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := denseSeq(byFrame(c.gtCols...), byFrame(c.hypCols...), simOf(5, len(c.gtCols), c.nHyp, c.sim))
			r := scoreSeq(s)
			if r.TP != c.tp || r.FN != c.fn || r.FP != c.fp || r.IDSW != c.idsw || !near(r.MOTA, c.mota) {
				t.Errorf("CLEAR TP %d FN %d FP %d IDSW %d MOTA %v, want %d %d %d %d %v", r.TP, r.FN, r.FP, r.IDSW, r.MOTA, c.tp, c.fn, c.fp, c.idsw, c.mota)
			}
			if r.IDTP != c.idtp || r.IDFN != c.idfn || r.IDFP != c.idfp || !near(r.IDR, c.wantIDR) || !near(r.IDP, c.wantIDP) || !near(r.IDF1, c.wantIDF) {
				t.Errorf("Identity %d %d %d %v %v %v, want %d %d %d %v %v %v", r.IDTP, r.IDFN, r.IDFP, r.IDR, r.IDP, r.IDF1,
					c.idtp, c.idfn, c.idfp, c.wantIDR, c.wantIDP, c.wantIDF)
			}
		})
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func sb(id int, x float32) MOTBox { return MOTBox{ID: id, Box: box(x, 0, 10, 0, 1)} }

// Worked by hand from the HOTA paper's definitions: one object seen in four
// frames, tracked by one identity for two frames and another for two.
// Every match is exact, so DetA = 1 at every alpha; each true positive's
// identity pair shares 2 matches of 4 truth + 2 track boxes:
// A = 2 / (4 + 2 - 2) = 0.5, so AssA = 0.5, HOTA = sqrt(0.5). CLEAR sees one
// switch, Identity keeps one of the two tracks (IDTP 2 of 4 + 4 boxes).
func TestHOTASplitTrackByHand(t *testing.T) {
	var fs []TrackFrame
	for f := range 4 {
		id := 7
		if f >= 2 {
			id = 8
		}
		fs = append(fs, TrackFrame{GT: []MOTBox{sb(1, float32(f))}, Hyp: []MOTBox{sb(id, float32(f))}})
	}
	r := ScoreStandard(fs, false)
	if !near(r.DetA, 1) || !near(r.AssA, 0.5) || !near(r.HOTA, math.Sqrt(0.5)) || !near(r.LocA, 1) {
		t.Fatalf("HOTA %v DetA %v AssA %v LocA %v, want sqrt(.5), 1, .5, 1", r.HOTA, r.DetA, r.AssA, r.LocA)
	}
	if r.IDSW != 1 || r.Frag != 0 || !near(r.MOTA, 0.75) || !near(r.IDF1, 0.5) || r.MT != 1 {
		t.Fatalf("%+v", r)
	}
}

// A match of IoU 0.6 is a hit at the 12 alphas up to 0.60 and a miss (FN and
// FP) above: HOTA = 12/19. LocA is 0.6 where there are hits and, by
// TrackEval's convention, 1 where there are none: (12*0.6 + 7)/19.
func TestHOTALocalisationThresholds(t *testing.T) {
	// Boxes 10 wide; shifted by 2.5 px the IoU is 7.5/12.5 = 0.6.
	var fs []TrackFrame
	for range 3 {
		fs = append(fs, TrackFrame{GT: []MOTBox{sb(1, 0)}, Hyp: []MOTBox{sb(5, 2.5)}})
	}
	r := ScoreStandard(fs, false)
	if !near(r.HOTA, 12.0/19) || !near(r.DetA, 12.0/19) || !near(r.LocA, (12*0.6+7)/19) {
		t.Fatalf("HOTA %v DetA %v LocA %v", r.HOTA, r.DetA, r.LocA)
	}
	if !near(r.MOTP, 0.6) || r.TP != 3 {
		t.Fatalf("MOTP %v TP %d", r.MOTP, r.TP)
	}
}

// Fragmentation: a truth tracked, missed, tracked again by the same
// identity is one fragmentation and no switch.
func TestFragmentation(t *testing.T) {
	fs := []TrackFrame{
		{GT: []MOTBox{sb(1, 0)}, Hyp: []MOTBox{sb(3, 0)}},
		{GT: []MOTBox{sb(1, 1)}, Hyp: []MOTBox{sb(3, 40)}},
		{GT: []MOTBox{sb(1, 2)}, Hyp: []MOTBox{sb(3, 2)}},
	}
	r := ScoreStandard(fs, false)
	if r.Frag != 1 || r.IDSW != 0 || r.FN != 1 || r.FP != 1 || r.TP != 2 {
		t.Fatalf("%+v", r)
	}
}

// Ignored truth is a MOTChallenge distractor in the visible-only scoring:
// a hypothesis on it vanishes, so neither counts; in the raw scoring it is
// truth like any other.
func TestVisibleOnlyDropsDistractors(t *testing.T) {
	hidden := MOTBox{ID: 2, Box: box(100, 0, 10, 0, 1), Ignore: true}
	fs := []TrackFrame{
		{GT: []MOTBox{sb(1, 0), hidden}, Hyp: []MOTBox{sb(3, 0), sb(4, 100)}},
		{GT: []MOTBox{sb(1, 0), hidden}, Hyp: []MOTBox{sb(3, 0)}},
	}
	vis := ScoreStandard(fs, true)
	if vis.GTDets != 2 || vis.HypDets != 2 || vis.FP != 0 || vis.FN != 0 || !near(vis.MOTA, 1) {
		t.Fatalf("visible-only %+v", vis)
	}
	raw := ScoreStandard(fs, false)
	if raw.GTDets != 4 || raw.FN != 1 || raw.FP != 0 || !near(raw.MOTA, 0.75) || raw.GTIDs != 2 {
		t.Fatalf("raw %+v", raw)
	}
}

// The assignment is optimal: against brute force over all assignments of
// random sparse matrices.
func TestMaxAssignOptimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		nr, nc := 1+rng.IntN(5), 1+rng.IntN(5)
		var es []edge
		m := make([][]float64, nr)
		for i := range m {
			m[i] = make([]float64, nc)
			for j := range m[i] {
				if rng.Float64() < 0.5 {
					m[i][j] = float64(1 + rng.IntN(4)) // ties on purpose
					es = append(es, edge{i, j, m[i][j]})
				}
			}
		}
		got := 0.0
		seen := map[int]bool{}
		for i, j := range maxAssign(nr, nc, es) {
			if j < 0 {
				continue
			}
			if seen[j] || m[i][j] <= 0 {
				t.Fatalf("trial %d: invalid assignment", trial)
			}
			seen[j] = true
			got += m[i][j]
		}
		if want := bruteMax(m, 0, map[int]bool{}); got != want {
			t.Fatalf("trial %d: %v, want %v (%v)", trial, got, want, m)
		}
	}
}

func bruteMax(m [][]float64, i int, used map[int]bool) float64 {
	if i == len(m) {
		return 0
	}
	best := bruteMax(m, i+1, used) // row i unpaired
	for j := range m[i] {
		if !used[j] && m[i][j] > 0 {
			used[j] = true
			best = max(best, m[i][j]+bruteMax(m, i+1, used))
			used[j] = false
		}
	}
	return best
}
