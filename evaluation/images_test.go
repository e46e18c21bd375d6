package evaluation

import (
	"math"
	"testing"

	"github.com/cropstream/cropstream/inference"
)

func ibox(c int, x, y, w, h, score float32) inference.Detection {
	return inference.Detection{X1: x, Y1: y, X2: x + w, Y2: y + h, Class: c, Score: score}
}

// Known boxes, known figures: class 0 (apple) has 4 truth boxes over two
// images; the detector finds three exactly (0.9, 0.8, 0.3), one loosely
// (IoU 0.72: a hit at IoU 0.50-0.70 only) at 0.6, and raises a false alarm
// at 0.7. Class 2 (pear) is only in the data set: its box is missed and is
// reported, and an apple box on it shows in the confusion matrix.
func TestImageEvalKnownAP(t *testing.T) {
	ev := NewImageEval([]string{"apple", "citrus", "pear"}, 2, 0.5)
	ev.Add([]inference.Detection{
		ibox(0, 0, 0, 10, 10, 0.9),
		ibox(0, 100, 0, 7.2, 10, 0.6), // IoU 0.72 with the truth at 100
		ibox(0, 300, 300, 10, 10, 0.7),
	}, []inference.Detection{ibox(0, 0, 0, 10, 10, 0), ibox(0, 100, 0, 10, 10, 0)})
	ev.Add([]inference.Detection{
		ibox(0, 0, 0, 10, 10, 0.8),
		ibox(0, 50, 50, 10, 10, 0.3),
		ibox(0, 200, 200, 20, 20, 0.95), // on the pear
	}, []inference.Detection{ibox(0, 0, 0, 10, 10, 0), ibox(0, 50, 50, 10, 10, 0), ibox(2, 200, 200, 20, 20, 0)})
	ev.Add(nil, nil) // an image with no fruit and no detection

	r := ev.Result()
	if r.Images != 3 || r.Truth != 5 {
		t.Fatalf("images %d truth %d, want 3 and 5", r.Images, r.Truth)
	}
	apple := r.Classes[0]
	// Ranked: 0.95 FP (pear), 0.9 TP, 0.8 TP, 0.7 FP, 0.6 TP(IoU 0.7), 0.3 TP.
	// IoU 0.5: precision at each recall step 1/2, 2/3, 3/5, 4/6, whose
	// envelope (the best precision at this recall or more) is 2/3 at each.
	want50 := 0.25 * (2.0 / 3) * 4
	if !near(apple.AP50, want50) {
		t.Errorf("apple AP50 %.4f, want %.4f", apple.AP50, want50)
	}
	// Above IoU 0.7 the loose box is a false alarm: hits at ranks 2, 3, 6
	// (precision 1/2, 2/3, 3/6) -> envelope 2/3, 2/3, 1/2 over recall 0.25 each.
	wantHigh := 0.25*(2.0/3)*2 + 0.25*0.5
	// 0.50..0.70 are five thresholds, 0.75..0.95 five.
	want5095 := (5*want50 + 5*wantHigh) / 10
	if !near(apple.AP50to95, want5095) {
		t.Errorf("apple AP50:95 %.4f, want %.4f", apple.AP50to95, want5095)
	}
	// At score 0.5: 5 detections, 3 hits, 4 truth boxes.
	if apple.Detections != 5 || !near(apple.Precision, 0.6) || !near(apple.Recall, 0.75) {
		t.Errorf("apple at 0.5: %d detections, precision %.3f recall %.3f; want 5, 0.6, 0.75", apple.Detections, apple.Precision, apple.Recall)
	}
	// Best F1 over the ranks: at 0.3, p 4/6 r 1 -> 0.8.
	if !near(apple.BestF1.F1, 0.8) || apple.BestF1.Conf != 0.3 {
		t.Errorf("best F1 %+v, want 0.8 at 0.3", apple.BestF1)
	}
	if len(apple.Curve) != 19 || apple.Curve[0].Conf != 0.05 || !near(apple.Curve[0].Recall, 1) {
		t.Errorf("curve starts %+v of %d points", apple.Curve[0], len(apple.Curve))
	}
	pear := r.Classes[2]
	if pear.InModel || pear.Truth != 1 || pear.Recall != 0 || pear.AP50 != 0 {
		t.Errorf("pear %+v: want out of the model, 1 truth box, none found", pear)
	}
	if len(r.Missing) != 1 || r.Missing[0] != "pear" {
		t.Errorf("missing %v, want [pear]", r.Missing)
	}
	// The mAP is over the model's classes with truth (apple only); the
	// pooled precision and recall over the model's classes too.
	if !near(r.MAP50, want50) || !near(r.Precision, 0.6) || !near(r.Recall, 0.75) {
		t.Errorf("mAP50 %.4f precision %.3f recall %.3f", r.MAP50, r.Precision, r.Recall)
	}
	// Confusion at 0.5 (rows predicted, columns truth, last background):
	// apple on apple 3, apple on pear 1, apple on nothing 1, apple truth
	// missed 1 (the 0.3 one).
	c := r.Confusion
	if c[0][0] != 3 || c[0][2] != 1 || c[0][3] != 1 || c[3][0] != 1 || c[3][2] != 0 {
		t.Errorf("confusion %v", c)
	}
}

// A detector that returns the truth gets AP 1 at every IoU, and a data set
// with no boxes at all scores nothing without dividing by zero.
func TestImageEvalPerfectAndEmpty(t *testing.T) {
	ev := NewImageEval([]string{"apple"}, 1, 0.25)
	truth := []inference.Detection{ibox(0, 10, 10, 30, 30, 0), ibox(0, 100, 10, 30, 30, 0)}
	dets := []inference.Detection{ibox(0, 10, 10, 30, 30, 0.9), ibox(0, 100, 10, 30, 30, 0.8)}
	ev.Add(dets, truth)
	r := ev.Result()
	if !near(r.MAP50, 1) || !near(r.MAP50to95, 1) || !near(r.Precision, 1) || !near(r.Recall, 1) {
		t.Errorf("perfect detector: %+v", r)
	}
	empty := NewImageEval([]string{"apple"}, 1, 0.25)
	empty.Add(nil, nil)
	if r := empty.Result(); r.MAP50 != 0 || r.Truth != 0 || math.IsNaN(r.Precision) {
		t.Errorf("empty: %+v", r)
	}
}
