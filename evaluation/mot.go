package evaluation

import (
	"sort"

	"github.com/cropstream/cropstream/inference"
)

// MOTBox is one box of one id in one frame.
type MOTBox struct {
	ID  int
	Box inference.Detection
	// Ignore marks truth too hidden to demand (below the visibility level):
	// a hypothesis on it is no false positive, missing it is no miss.
	Ignore bool
}

// MOTEval accumulates CLEAR MOT and identity metrics at IoU 0.5.
type MOTEval struct {
	gtCount, hypCount   int
	fn, fp, idsw        int
	last                map[int]int // gt id -> hyp id last matched
	pairs               map[[2]int]int
	gtFrames, hypFrames map[int]int
}

// NewMOTEval starts an evaluation.
func NewMOTEval() *MOTEval {
	return &MOTEval{last: map[int]int{}, pairs: map[[2]int]int{}, gtFrames: map[int]int{}, hypFrames: map[int]int{}}
}

// Add scores one frame. Matching keeps last frame's correspondences when they
// still overlap, then pairs the rest by IoU, best first (as CLEAR MOT does).
func (e *MOTEval) Add(gts, hyps []MOTBox) {
	const thr = 0.5
	usedG := make([]bool, len(gts))
	usedH := make([]bool, len(hyps))
	hypGT := make([]int, len(hyps)) // truth index each hypothesis matched
	match := func(gi, hi int) {
		usedG[gi], usedH[hi] = true, true
		hypGT[hi] = gi
		g, h := gts[gi], hyps[hi]
		if g.Ignore {
			return
		}
		if prev, ok := e.last[g.ID]; ok && prev != h.ID {
			e.idsw++
		}
		e.last[g.ID] = h.ID
		e.pairs[[2]int{g.ID, h.ID}]++
	}
	for gi, g := range gts {
		prev, ok := e.last[g.ID]
		if !ok {
			continue
		}
		for hi, h := range hyps {
			if !usedH[hi] && h.ID == prev && inference.IoU(g.Box, h.Box) >= thr {
				match(gi, hi)
				break
			}
		}
	}
	type cand struct {
		g, h int
		iou  float32
	}
	var cs []cand
	for gi, g := range gts {
		if usedG[gi] {
			continue
		}
		for hi, h := range hyps {
			if usedH[hi] {
				continue
			}
			if v := inference.IoU(g.Box, h.Box); v >= thr {
				cs = append(cs, cand{gi, hi, v})
			}
		}
	}
	sort.Slice(cs, func(a, b int) bool {
		if cs[a].iou != cs[b].iou {
			return cs[a].iou > cs[b].iou
		}
		return cs[a].g < cs[b].g || (cs[a].g == cs[b].g && cs[a].h < cs[b].h)
	})
	for _, c := range cs {
		if !usedG[c.g] && !usedH[c.h] {
			match(c.g, c.h)
		}
	}
	for gi, g := range gts {
		if g.Ignore {
			continue
		}
		e.gtCount++
		e.gtFrames[g.ID]++
		if !usedG[gi] {
			e.fn++
		}
	}
	for hi, h := range hyps {
		if usedH[hi] && gts[hypGT[hi]].Ignore {
			continue // on ignored truth: not counted at all
		}
		e.hypCount++
		e.hypFrames[h.ID]++
		if !usedH[hi] {
			e.fp++
		}
	}
}

// MOTResult is the summary.
type MOTResult struct {
	MOTA     float64 `json:"mota"`
	IDF1     float64 `json:"idf1"`
	FN       int     `json:"fn"`
	FP       int     `json:"fp"`
	IDSW     int     `json:"id_switches"`
	GT       int     `json:"gt_boxes"`
	GTIDs    int     `json:"gt_ids"`
	TrackIDs int     `json:"track_ids"`
}

// Result computes MOTA and IDF1. IDF1 pairs truth and track identities one
// to one, greedily by frames matched (exact when identities are clean, a
// lower bound otherwise).
func (e *MOTEval) Result() MOTResult {
	r := MOTResult{FN: e.fn, FP: e.fp, IDSW: e.idsw, GT: e.gtCount, GTIDs: len(e.gtFrames), TrackIDs: len(e.hypFrames)}
	if e.gtCount > 0 {
		r.MOTA = 1 - float64(e.fn+e.fp+e.idsw)/float64(e.gtCount)
	}
	type pc struct {
		g, h, n int
	}
	var ps []pc
	for k, n := range e.pairs {
		ps = append(ps, pc{k[0], k[1], n})
	}
	sort.Slice(ps, func(a, b int) bool {
		if ps[a].n != ps[b].n {
			return ps[a].n > ps[b].n
		}
		return ps[a].g < ps[b].g || (ps[a].g == ps[b].g && ps[a].h < ps[b].h)
	})
	usedG, usedH := map[int]bool{}, map[int]bool{}
	idtp := 0
	for _, p := range ps {
		if usedG[p.g] || usedH[p.h] {
			continue
		}
		usedG[p.g], usedH[p.h] = true, true
		idtp += p.n
	}
	if d := e.gtCount + e.hypCount; d > 0 {
		r.IDF1 = 2 * float64(idtp) / float64(d)
	}
	return r
}
