package evaluation

import (
	"sort"

	"github.com/cropstream/cropstream/inference"
)

// IoUThresholds are COCO's: 0.50, 0.55, ..., 0.95. AP@0.5:0.95 is the mean
// of the AP at each.
var IoUThresholds = []float32{0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95}

// ConfusionIoU is the overlap at which a prediction and a truth box of any
// classes are paired for the confusion matrix.
const ConfusionIoU = 0.5

// ImageEval scores a detector on labelled still images (a YOLO data set):
// per class AP at every IoU of IoUThresholds, precision and recall at one
// score threshold and along the score range, and the confusion between
// classes. It keeps every image's boxes until Result (a few thousand images
// of a few hundred boxes each).
//
// Classes are indices into Names: the model's classes first, then the data
// set's classes the model lacks (InModel false), whose truth boxes can only
// be missed: they are scored, not dropped.
type ImageEval struct {
	Names []string
	// InModel[c] tells whether the model can predict class c.
	InModel []bool
	// Conf is the score of the operating point (the engine's threshold).
	Conf   float32
	images []imageBoxes
}

type imageBoxes struct {
	dets, truth []inference.Detection
}

// NewImageEval scores classes names, of which the first modelClasses are the
// model's, at operating score conf.
func NewImageEval(names []string, modelClasses int, conf float32) *ImageEval {
	in := make([]bool, len(names))
	for c := range min(modelClasses, len(names)) {
		in[c] = true
	}
	return &ImageEval{Names: names, InModel: in, Conf: conf}
}

// Add records one image's detections (any score; the evaluation needs
// those below Conf for the curve) and truth boxes (Score unused), in the
// same pixels.
func (e *ImageEval) Add(dets, truth []inference.Detection) {
	e.images = append(e.images, imageBoxes{dets: dets, truth: truth})
}

// CurvePoint is precision and recall at IoU 0.5 counting detections scoring
// at least Conf.
type CurvePoint struct {
	Conf      float32 `json:"conf"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// ImageClassResult is one class's figures.
type ImageClassResult struct {
	Name    string `json:"name"`
	InModel bool   `json:"in_model"`
	Truth   int    `json:"truth"`
	// Detections at or above the operating score.
	Detections int `json:"detections"`
	// Precision, Recall and F1 at the operating score, IoU 0.5.
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	AP50      float64 `json:"ap50"`
	AP50to95  float64 `json:"ap50_95"`
	// BestF1 is the point of the curve with the highest F1 (where yolo val
	// reports its precision and recall).
	BestF1 CurvePoint `json:"best_f1"`
	// Curve samples the scores 0.05, 0.10, ..., 0.95.
	Curve []CurvePoint `json:"curve"`
}

// ImageResult is the whole evaluation.
type ImageResult struct {
	Images int     `json:"images"`
	Truth  int     `json:"truth_boxes"`
	Conf   float32 `json:"conf"`
	// Precision and Recall pool the model's classes at the operating score;
	// MAP50 and MAP50to95 average the model's classes that have truth boxes.
	Precision float64            `json:"precision"`
	Recall    float64            `json:"recall"`
	MAP50     float64            `json:"map50"`
	MAP50to95 float64            `json:"map50_95"`
	Classes   []ImageClassResult `json:"classes"`
	// Missing names the data set's classes with truth boxes that the model
	// cannot predict: their recall is 0 and they are not in the mAP.
	Missing []string `json:"missing_classes,omitempty"`
	// Confusion[p][t] counts predictions of class p (at the operating score)
	// paired with truth boxes of class t, class-agnostically at IoU
	// ConfusionIoU; index len(Names) is the background: a prediction with
	// no truth box (row p, last column) or a truth box with no prediction
	// (last row, column t).
	Confusion [][]int `json:"confusion"`
}

// Result computes the figures.
func (e *ImageEval) Result() ImageResult {
	nc := len(e.Names)
	r := ImageResult{Images: len(e.images), Conf: e.Conf}
	// dets[c][k] are class c's detections with whether each is a true
	// positive at IoUThresholds[k].
	type det struct {
		score float32
		tp    [10]bool
	}
	dets := make([][]det, nc)
	npos := make([]int, nc)
	for _, im := range e.images {
		for _, g := range im.truth {
			if g.Class >= 0 && g.Class < nc {
				npos[g.Class]++
			}
		}
		var ds [10][]bool
		for k, t := range IoUThresholds {
			ds[k] = matchGreedy(im.dets, im.truth, t)
		}
		for i, d := range im.dets {
			if d.Class < 0 || d.Class >= nc {
				continue
			}
			x := det{score: d.Score}
			for k := range IoUThresholds {
				x.tp[k] = ds[k][i]
			}
			dets[d.Class] = append(dets[d.Class], x)
		}
	}
	var tp, fp, pos, n int
	for c := range nc {
		cr := ImageClassResult{Name: e.Names[c], InModel: e.InModel[c], Truth: npos[c]}
		r.Truth += npos[c]
		ds := dets[c]
		sort.SliceStable(ds, func(i, j int) bool { return ds[i].score > ds[j].score })
		var ctp int
		for _, d := range ds {
			if d.score >= e.Conf {
				cr.Detections++
				if d.tp[0] {
					ctp++
				}
			}
		}
		cr.Precision, cr.Recall, cr.F1 = prf(ctp, cr.Detections, npos[c])
		if npos[c] > 0 {
			var sum float64
			for k := range IoUThresholds {
				s := make([]scored, len(ds))
				for i, d := range ds {
					s[i] = scored{d.score, d.tp[k]}
				}
				ap := averagePrecision(s, npos[c])
				if k == 0 {
					cr.AP50 = ap
				}
				sum += ap
			}
			cr.AP50to95 = sum / float64(len(IoUThresholds))
		}
		cr.Curve, cr.BestF1 = curve(len(ds), npos[c], func(i int) (float32, bool) { return ds[i].score, ds[i].tp[0] })
		if cr.InModel {
			tp += ctp
			fp += cr.Detections - ctp
			pos += npos[c]
			if npos[c] > 0 {
				r.MAP50 += cr.AP50
				r.MAP50to95 += cr.AP50to95
				n++
			}
		} else if npos[c] > 0 {
			r.Missing = append(r.Missing, e.Names[c])
		}
		r.Classes = append(r.Classes, cr)
	}
	r.Precision, r.Recall, _ = prf(tp, tp+fp, pos)
	if n > 0 {
		r.MAP50 /= float64(n)
		r.MAP50to95 /= float64(n)
	}
	r.Confusion = e.confusion()
	return r
}

func prf(tp, dets, truth int) (p, r, f1 float64) {
	if dets > 0 {
		p = float64(tp) / float64(dets)
	}
	if truth > 0 {
		r = float64(tp) / float64(truth)
	}
	if p+r > 0 {
		f1 = 2 * p * r / (p + r)
	}
	return p, r, f1
}

// curve samples precision and recall at the scores 0.05..0.95 and finds the
// best F1 over every distinct score; at(i) is the i-th detection (best
// first) and whether it is a true positive, of n.
func curve(n, npos int, at func(int) (float32, bool)) ([]CurvePoint, CurvePoint) {
	var pts []CurvePoint
	var best CurvePoint
	tp, i := 0, 0
	for step := 19; step >= 1; step-- {
		conf := float32(step) * 0.05
		for i < n {
			s, t := at(i)
			if s < conf {
				break
			}
			if t {
				tp++
			}
			i++
		}
		p, r, f1 := prf(tp, i, npos)
		pts = append(pts, CurvePoint{Conf: conf, Precision: p, Recall: r, F1: f1})
	}
	// Reversed, the samples run from the lowest score up, as a table reads.
	for a, b := 0, len(pts)-1; a < b; a, b = a+1, b-1 {
		pts[a], pts[b] = pts[b], pts[a]
	}
	tp = 0
	for i := range n {
		s, t := at(i)
		if t {
			tp++
		}
		// Ties: only the last detection of a score is a point on the curve.
		if i+1 < n {
			if s2, _ := at(i + 1); s2 == s {
				continue
			}
		}
		p, r, f1 := prf(tp, i+1, npos)
		if f1 > best.F1 {
			best = CurvePoint{Conf: s, Precision: p, Recall: r, F1: f1}
		}
	}
	return pts, best
}

// matchGreedy marks which of dets are true positives at iou.
func matchGreedy(dets, truth []inference.Detection, iou float32) []bool {
	tp := make([]bool, len(dets))
	_, match := matchByScore(dets, truth, iou)
	for i, j := range match {
		tp[i] = j >= 0
	}
	return tp
}

// matchByScore pairs dets with truth boxes as COCO's evaluation does: best
// score first, each takes the unmatched truth box of its class it overlaps
// most (at least iou). It returns the dets' indices in that order and, for
// each det, the index of the truth box it took (-1: none).
func matchByScore(dets, truth []inference.Detection, iou float32) (order, match []int) {
	order = make([]int, len(dets))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return dets[order[a]].Score > dets[order[b]].Score })
	match = make([]int, len(dets))
	used := make([]bool, len(truth))
	for _, i := range order {
		best, bi := iou, -1
		for j, g := range truth {
			if used[j] || g.Class != dets[i].Class {
				continue
			}
			if v := inference.IoU(dets[i], g); v >= best {
				best, bi = v, j
			}
		}
		if bi >= 0 {
			used[bi] = true
		}
		match[i] = bi
	}
	return order, match
}

// confusion pairs predictions at the operating score with truth boxes of
// any class, the highest overlaps first, one to one.
func (e *ImageEval) confusion() [][]int {
	nc := len(e.Names)
	m := make([][]int, nc+1)
	for i := range m {
		m[i] = make([]int, nc+1)
	}
	type pair struct {
		d, g int
		iou  float32
	}
	for _, im := range e.images {
		var pairs []pair
		var dets []int
		for i, d := range im.dets {
			if d.Score >= e.Conf && d.Class >= 0 && d.Class < nc {
				dets = append(dets, i)
			}
		}
		for _, i := range dets {
			for j, g := range im.truth {
				if v := inference.IoU(im.dets[i], g); v >= ConfusionIoU {
					pairs = append(pairs, pair{i, j, v})
				}
			}
		}
		sort.SliceStable(pairs, func(a, b int) bool { return pairs[a].iou > pairs[b].iou })
		dUsed := map[int]bool{}
		gUsed := make([]bool, len(im.truth))
		for _, p := range pairs {
			if dUsed[p.d] || gUsed[p.g] {
				continue
			}
			dUsed[p.d], gUsed[p.g] = true, true
			m[im.dets[p.d].Class][im.truth[p.g].Class]++
		}
		for _, i := range dets {
			if !dUsed[i] {
				m[im.dets[i].Class][nc]++
			}
		}
		for j, g := range im.truth {
			if !gUsed[j] && g.Class >= 0 && g.Class < nc {
				m[nc][g.Class]++
			}
		}
	}
	return m
}
