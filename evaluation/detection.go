package evaluation

import (
	"sort"

	"github.com/cropstream/cropstream/inference"
)

// GT is one ground-truth box. Ignore marks a unit too hidden to demand
// (visibility below the required level): a detection on it is neither a hit
// nor a false alarm.
type GT struct {
	Box    inference.Detection // Score unused
	Ignore bool
}

// DetectionEval accumulates frames and computes detection metrics at one IoU.
type DetectionEval struct {
	IoU       float32
	Threshold float32 // score of the operating point for precision/recall
	classes   map[int]*classAcc
	Frames    int
}

type scored struct {
	score float32
	tp    bool
}

type classAcc struct {
	dets  []scored
	npos  int
	tpAt  int // true positives at or above Threshold
	fpAt  int
	posAt int
}

// NewDetectionEval scores at IoU iou; precision and recall are reported for
// detections scoring at least threshold.
func NewDetectionEval(iou, threshold float32) *DetectionEval {
	return &DetectionEval{IoU: iou, Threshold: threshold, classes: map[int]*classAcc{}}
}

func (e *DetectionEval) class(c int) *classAcc {
	a := e.classes[c]
	if a == nil {
		a = &classAcc{}
		e.classes[c] = a
	}
	return a
}

// Add scores one frame: detections are matched greedily, best score first,
// to the unmatched truth box of their class they overlap most.
func (e *DetectionEval) Add(dets []inference.Detection, gts []GT) {
	e.Frames++
	for _, g := range gts {
		if !g.Ignore {
			e.class(g.Box.Class).npos++
		}
	}
	truth := make([]inference.Detection, len(gts))
	for j, g := range gts {
		truth[j] = g.Box
	}
	order, match := matchByScore(dets, truth, e.IoU)
	for _, i := range order {
		d, bi := dets[i], match[i]
		acc := e.class(d.Class)
		switch {
		case bi >= 0 && gts[bi].Ignore:
			continue // neither hit nor false alarm
		case bi >= 0:
			acc.dets = append(acc.dets, scored{d.Score, true})
			if d.Score >= e.Threshold {
				acc.tpAt++
			}
		default:
			acc.dets = append(acc.dets, scored{d.Score, false})
			if d.Score >= e.Threshold {
				acc.fpAt++
			}
		}
	}
}

// ClassResult is one class's figures.
type ClassResult struct {
	AP        float64 `json:"ap50"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	Truth     int     `json:"truth"`
}

// Result is the whole evaluation.
type Result struct {
	Precision float64             `json:"precision"`
	Recall    float64             `json:"recall"`
	MAP50     float64             `json:"map50"`
	Frames    int                 `json:"frames"`
	Truth     int                 `json:"truth_boxes"`
	PerClass  map[int]ClassResult `json:"per_class"`
}

// Result computes AP per class (all-point interpolation, as VOC 2010+ and
// COCO do) and mAP over the classes present in the truth.
func (e *DetectionEval) Result() Result {
	r := Result{Frames: e.Frames, PerClass: map[int]ClassResult{}}
	var tp, fp, npos int
	var apSum float64
	n := 0
	for c, a := range e.classes {
		cr := ClassResult{Truth: a.npos}
		tp += a.tpAt
		fp += a.fpAt
		npos += a.npos
		if a.tpAt+a.fpAt > 0 {
			cr.Precision = float64(a.tpAt) / float64(a.tpAt+a.fpAt)
		}
		if a.npos > 0 {
			cr.Recall = float64(a.tpAt) / float64(a.npos)
			cr.AP = averagePrecision(a.dets, a.npos)
			apSum += cr.AP
			n++
		}
		r.PerClass[c] = cr
	}
	r.Truth = npos
	if tp+fp > 0 {
		r.Precision = float64(tp) / float64(tp+fp)
	}
	if npos > 0 {
		r.Recall = float64(tp) / float64(npos)
	}
	if n > 0 {
		r.MAP50 = apSum / float64(n)
	}
	return r
}

func averagePrecision(dets []scored, npos int) float64 {
	sort.SliceStable(dets, func(i, j int) bool { return dets[i].score > dets[j].score })
	prec := make([]float64, len(dets))
	rec := make([]float64, len(dets))
	tp := 0
	for i, d := range dets {
		if d.tp {
			tp++
		}
		prec[i] = float64(tp) / float64(i+1)
		rec[i] = float64(tp) / float64(npos)
	}
	// Precision envelope, then area under the step curve.
	for i := len(prec) - 2; i >= 0; i-- {
		prec[i] = max(prec[i], prec[i+1])
	}
	ap, prevR := 0.0, 0.0
	for i := range dets {
		if rec[i] > prevR {
			ap += (rec[i] - prevR) * prec[i]
			prevR = rec[i]
		}
	}
	return ap
}
