package evaluation

import (
	"math"
	"slices"
)

// TrackEval's rules (github.com/JonathonLuiten/TrackEval, trackeval/metrics
// clear.py, identity.py, hota.py, and the MOTChallenge preprocessing of
// datasets/mot_challenge_2d_box.py) re-implemented so that the figures
// compare with published ones. Where TrackEval has a quirk it is kept: a
// frame without truth or without hypotheses leaves CLEAR's "tracked in the
// previous frame" memory untouched, and LocA at an alpha without a match is 1.

// TrackFrame is one frame of a sequence: truth and hypothesis boxes with their
// identities. Truth marked Ignore is a MOTChallenge distractor when a
// scoring ignores it (ScoreStandard with visibleOnly), plain truth otherwise.
type TrackFrame struct {
	GT, Hyp []MOTBox
}

// Standard holds the MOTChallenge metrics of one sequence, as TrackEval
// reports them (fractions, not percentages).
type Standard struct {
	// HOTA and its parts are means over the localisation thresholds
	// alpha = 0.05, 0.10, ..., 0.95.
	HOTA  float64 `json:"hota"`
	DetA  float64 `json:"deta"`
	AssA  float64 `json:"assa"`
	LocA  float64 `json:"loca"`
	DetRe float64 `json:"detre"`
	DetPr float64 `json:"detpr"`
	AssRe float64 `json:"assre"`
	AssPr float64 `json:"asspr"`
	// CLEAR MOT at IoU 0.5.
	MOTA float64 `json:"mota"`
	MOTP float64 `json:"motp"`
	MODA float64 `json:"moda"`
	TP   int     `json:"tp"`
	FN   int     `json:"fn"`
	FP   int     `json:"fp"`
	IDSW int     `json:"id_switches"`
	Frag int     `json:"fragmentations"`
	MT   int     `json:"mostly_tracked"`
	PT   int     `json:"partly_tracked"`
	ML   int     `json:"mostly_lost"`
	// Identity metrics at IoU 0.5.
	IDF1 float64 `json:"idf1"`
	IDP  float64 `json:"idp"`
	IDR  float64 `json:"idr"`
	IDTP int     `json:"idtp"`
	IDFN int     `json:"idfn"`
	IDFP int     `json:"idfp"`
	// What was scored, after preprocessing.
	GTDets  int `json:"gt_dets"`
	HypDets int `json:"hyp_dets"`
	GTIDs   int `json:"gt_ids"`
	HypIDs  int `json:"hyp_ids"`
	Frames  int `json:"frames"`
}

// seq is a preprocessed sequence: per frame, contiguous truth and
// hypothesis indices and their IoU matrix.
type seq struct {
	gt, hyp         [][]int
	sim             [][][]float64 // [t][gt][hyp]
	nGT, nHyp       int
	gtDets, hypDets int
}

const eps = 2.220446049250313e-16 // np.finfo('float').eps, as TrackEval compares

// ScoreStandard scores a sequence by TrackEval's MOTChallenge rules: HOTA,
// CLEAR MOT and identity metrics, boxes compared by IoU.
//
// With visibleOnly false every truth box counts (the raw truth). With it,
// truth marked Ignore is handled as MOTChallenge handles distractors: per
// frame, hypotheses are paired with all truth by IoU >= 0.5 (Hungarian),
// those paired with ignored truth are dropped, then the ignored truth is
// dropped.
func ScoreStandard(frames []TrackFrame, visibleOnly bool) Standard {
	return scoreSeq(preprocess(frames, visibleOnly))
}

func boxIoU(a, b MOTBox) float64 {
	// TrackEval's IoU in float64 on the boxes as given.
	ax1, ay1, ax2, ay2 := float64(a.Box.X1), float64(a.Box.Y1), float64(a.Box.X2), float64(a.Box.Y2)
	bx1, by1, bx2, by2 := float64(b.Box.X1), float64(b.Box.Y1), float64(b.Box.X2), float64(b.Box.Y2)
	in := math.Max(math.Min(ax2, bx2)-math.Max(ax1, bx1), 0) * math.Max(math.Min(ay2, by2)-math.Max(ay1, by1), 0)
	a1, a2 := (ax2-ax1)*(ay2-ay1), (bx2-bx1)*(by2-by1)
	u := a1 + a2 - in
	if a1 <= eps || a2 <= eps || u <= eps {
		return 0
	}
	return in / u
}

func preprocess(frames []TrackFrame, visibleOnly bool) seq {
	var s seq
	gtMap, hypMap := map[int]int{}, map[int]int{}
	type fr struct{ gt, hyp []MOTBox }
	kept := make([]fr, len(frames))
	for t, f := range frames {
		gts, hyps := f.GT, f.Hyp
		if visibleOnly && len(gts) > 0 && len(hyps) > 0 {
			var es []edge
			for gi, g := range gts {
				for hi, h := range hyps {
					if v := boxIoU(g, h); v >= 0.5-eps {
						es = append(es, edge{gi, hi, v})
					}
				}
			}
			drop := make([]bool, len(hyps))
			for gi, hi := range maxAssign(len(gts), len(hyps), es) {
				if hi >= 0 && gts[gi].Ignore {
					drop[hi] = true
				}
			}
			var hs []MOTBox
			for hi, h := range hyps {
				if !drop[hi] {
					hs = append(hs, h)
				}
			}
			hyps = hs
		}
		if visibleOnly {
			var gs []MOTBox
			for _, g := range gts {
				if !g.Ignore {
					gs = append(gs, g)
				}
			}
			gts = gs
		}
		kept[t] = fr{gts, hyps}
		for _, g := range gts {
			if _, ok := gtMap[g.ID]; !ok {
				gtMap[g.ID] = 0
			}
		}
		for _, h := range hyps {
			if _, ok := hypMap[h.ID]; !ok {
				hypMap[h.ID] = 0
			}
		}
	}
	// Contiguous indices in id order, as TrackEval relabels.
	relabel := func(m map[int]int) {
		ids := make([]int, 0, len(m))
		for id := range m {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for i, id := range ids {
			m[id] = i
		}
	}
	relabel(gtMap)
	relabel(hypMap)
	s.nGT, s.nHyp = len(gtMap), len(hypMap)
	s.gt = make([][]int, len(frames))
	s.hyp = make([][]int, len(frames))
	s.sim = make([][][]float64, len(frames))
	for t, f := range kept {
		for _, g := range f.gt {
			s.gt[t] = append(s.gt[t], gtMap[g.ID])
		}
		for _, h := range f.hyp {
			s.hyp[t] = append(s.hyp[t], hypMap[h.ID])
		}
		s.sim[t] = make([][]float64, len(f.gt))
		for gi, g := range f.gt {
			s.sim[t][gi] = make([]float64, len(f.hyp))
			for hi, h := range f.hyp {
				s.sim[t][gi][hi] = boxIoU(g, h)
			}
		}
		s.gtDets += len(f.gt)
		s.hypDets += len(f.hyp)
	}
	return s
}

func scoreSeq(s seq) Standard {
	r := Standard{GTDets: s.gtDets, HypDets: s.hypDets, GTIDs: s.nGT, HypIDs: s.nHyp, Frames: len(s.gt)}
	clearMOT(s, &r)
	identityMetrics(s, &r)
	hotaMetrics(s, &r)
	return r
}

// clearMOT is TrackEval's CLEAR: per frame a Hungarian match at IoU >= 0.5
// that first keeps the previous frame's pairs, then maximises IoU.
func clearMOT(s seq, r *Standard) {
	if s.hypDets == 0 {
		r.FN, r.ML = s.gtDets, s.nGT
		return
	}
	if s.gtDets == 0 {
		r.FP = s.hypDets
		return
	}
	gtCount := make([]int, s.nGT)
	gtMatched := make([]int, s.nGT)
	frag := make([]int, s.nGT)
	prev := make([]int, s.nGT)     // last hypothesis each truth was matched to, ever
	prevStep := make([]int, s.nGT) // matched to in the previous scored frame
	for i := range prev {
		prev[i], prevStep[i] = -1, -1
	}
	var motpSum float64
	for t := range s.gt {
		gts, hyps := s.gt[t], s.hyp[t]
		if len(gts) == 0 {
			r.FP += len(hyps)
			continue
		}
		if len(hyps) == 0 {
			r.FN += len(gts)
			for _, g := range gts {
				gtCount[g]++
			}
			continue
		}
		var es []edge
		for gi, g := range gts {
			for hi, h := range hyps {
				v := s.sim[t][gi][hi]
				if v < 0.5-eps {
					continue
				}
				if prevStep[g] == h {
					v += 1000
				}
				es = append(es, edge{gi, hi, v})
			}
		}
		match := maxAssign(len(gts), len(hyps), es)
		for _, g := range gts {
			gtCount[g]++
		}
		n := 0
		for gi, hi := range match {
			if hi < 0 {
				continue
			}
			g, h := gts[gi], hyps[hi]
			if prev[g] >= 0 && prev[g] != h {
				r.IDSW++
			}
			gtMatched[g]++
			n++
			motpSum += s.sim[t][gi][hi]
		}
		notPrev := make([]bool, s.nGT)
		for g := range prevStep {
			notPrev[g] = prevStep[g] < 0
			prevStep[g] = -1
		}
		for gi, hi := range match {
			if hi >= 0 {
				prev[gts[gi]] = hyps[hi]
				prevStep[gts[gi]] = hyps[hi]
			}
		}
		for g := range prevStep {
			if notPrev[g] && prevStep[g] >= 0 {
				frag[g]++
			}
		}
		r.TP += n
		r.FN += len(gts) - n
		r.FP += len(hyps) - n
	}
	for g := range gtCount {
		if gtCount[g] == 0 {
			continue
		}
		ratio := float64(gtMatched[g]) / float64(gtCount[g])
		switch {
		case ratio > 0.8:
			r.MT++
		case ratio >= 0.2:
			r.PT++
		}
		if frag[g] > 0 {
			r.Frag += frag[g] - 1
		}
	}
	r.ML = s.nGT - r.MT - r.PT
	d := math.Max(1, float64(r.TP+r.FN))
	r.MOTA = float64(r.TP-r.FP-r.IDSW) / d
	r.MODA = float64(r.TP-r.FP) / d
	r.MOTP = motpSum / math.Max(1, float64(r.TP))
}

// identityMetrics is TrackEval's Identity: truth and hypothesis identities paired
// one to one to maximise the frames they share at IoU >= 0.5.
func identityMetrics(s seq, r *Standard) {
	if s.hypDets == 0 {
		r.IDFN = s.gtDets
		return
	}
	if s.gtDets == 0 {
		r.IDFP = s.hypDets
		return
	}
	pot := map[[2]int]float64{}
	for t := range s.gt {
		for gi, g := range s.gt[t] {
			for hi, h := range s.hyp[t] {
				if s.sim[t][gi][hi] >= 0.5 {
					pot[[2]int{g, h}]++
				}
			}
		}
	}
	es := make([]edge, 0, len(pot))
	for k, v := range pot {
		es = append(es, edge{k[0], k[1], v})
	}
	sortEdges(es)
	for g, h := range maxAssign(s.nGT, s.nHyp, es) {
		if h >= 0 {
			r.IDTP += int(pot[[2]int{g, h}])
		}
	}
	r.IDFN = s.gtDets - r.IDTP
	r.IDFP = s.hypDets - r.IDTP
	r.IDR = float64(r.IDTP) / math.Max(1, float64(r.IDTP+r.IDFN))
	r.IDP = float64(r.IDTP) / math.Max(1, float64(r.IDTP+r.IDFP))
	r.IDF1 = float64(r.IDTP) / math.Max(1, float64(r.IDTP)+0.5*float64(r.IDFP)+0.5*float64(r.IDFN))
}

// sortEdges orders edges built from a map, so that results do not depend on
// map iteration among equally good assignments.
func sortEdges(es []edge) {
	slices.SortFunc(es, func(a, b edge) int {
		if a.r != b.r {
			return a.r - b.r
		}
		return a.c - b.c
	})
}

// hotaAlphas are TrackEval's localisation thresholds: 0.05, 0.10, ..., 0.95.
func hotaAlphas() []float64 {
	out := make([]float64, 19)
	for i := range out {
		out[i] = 0.05 * float64(i+1)
	}
	return out
}

// hotaMetrics is TrackEval's HOTA: a global alignment score per identity pair
// weights each frame's Hungarian match; detection and association accuracy
// are computed per alpha and averaged.
func hotaMetrics(s seq, r *Standard) {
	alphas := hotaAlphas()
	na := len(alphas)
	if s.hypDets == 0 || s.gtDets == 0 {
		// Nothing to match: every alpha scores zero, LocA one.
		r.LocA = 1
		return
	}
	gtCount := make([]float64, s.nGT)
	hypCount := make([]float64, s.nHyp)
	pot := map[[2]int]float64{}
	for t := range s.gt {
		sim := s.sim[t]
		rowSum := make([]float64, len(s.gt[t]))
		colSum := make([]float64, len(s.hyp[t]))
		for gi := range sim {
			for hi, v := range sim[gi] {
				rowSum[gi] += v
				colSum[hi] += v
			}
		}
		for gi, g := range s.gt[t] {
			for hi, h := range s.hyp[t] {
				v := sim[gi][hi]
				if d := rowSum[gi] + colSum[hi] - v; d > eps && v > 0 {
					pot[[2]int{g, h}] += v / d
				}
			}
		}
		for _, g := range s.gt[t] {
			gtCount[g]++
		}
		for _, h := range s.hyp[t] {
			hypCount[h]++
		}
	}
	align := func(g, h int) float64 {
		p := pot[[2]int{g, h}]
		return p / (gtCount[g] + hypCount[h] - p)
	}
	tp := make([]float64, na)
	fn := make([]float64, na)
	fp := make([]float64, na)
	loc := make([]float64, na)
	matches := make([]map[[2]int]float64, na)
	for a := range matches {
		matches[a] = map[[2]int]float64{}
	}
	for t := range s.gt {
		gts, hyps := s.gt[t], s.hyp[t]
		if len(gts) == 0 || len(hyps) == 0 {
			for a := range na {
				fp[a] += float64(len(hyps))
				fn[a] += float64(len(gts))
			}
			continue
		}
		var es []edge
		for gi, g := range gts {
			for hi, h := range hyps {
				if v := s.sim[t][gi][hi]; v > 0 {
					if sc := align(g, h) * v; sc > 0 {
						es = append(es, edge{gi, hi, sc})
					}
				}
			}
		}
		match := maxAssign(len(gts), len(hyps), es)
		for a, alpha := range alphas {
			n := 0
			for gi, hi := range match {
				if hi < 0 {
					continue
				}
				v := s.sim[t][gi][hi]
				if v >= alpha-eps {
					n++
					loc[a] += v
					matches[a][[2]int{gts[gi], hyps[hi]}]++
				}
			}
			tp[a] += float64(n)
			fn[a] += float64(len(gts) - n)
			fp[a] += float64(len(hyps) - n)
		}
	}
	for a := range na {
		var assA, assRe, assPr float64
		for k, m := range matches[a] {
			g, h := k[0], k[1]
			assA += m * m / math.Max(1, gtCount[g]+hypCount[h]-m)
			assRe += m * m / math.Max(1, gtCount[g])
			assPr += m * m / math.Max(1, hypCount[h])
		}
		d := math.Max(1, tp[a])
		assA, assRe, assPr = assA/d, assRe/d, assPr/d
		detA := tp[a] / math.Max(1, tp[a]+fn[a]+fp[a])
		r.HOTA += math.Sqrt(detA*assA) / float64(na)
		r.DetA += detA / float64(na)
		r.AssA += assA / float64(na)
		r.AssRe += assRe / float64(na)
		r.AssPr += assPr / float64(na)
		r.DetRe += tp[a] / math.Max(1, tp[a]+fn[a]) / float64(na)
		r.DetPr += tp[a] / math.Max(1, tp[a]+fp[a]) / float64(na)
		r.LocA += math.Max(1e-10, loc[a]) / math.Max(1e-10, tp[a]) / float64(na)
	}
}
