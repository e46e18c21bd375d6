package evaluation

import (
	"math"
	"testing"

	"github.com/cropstream/cropstream/inference"
)

func box(x, y, s float32, class int, score float32) inference.Detection {
	return inference.Detection{X1: x, Y1: y, X2: x + s, Y2: y + s, Class: class, Score: score}
}

func TestPerfectAndEmpty(t *testing.T) {
	e := NewDetectionEval(0.5, 0.25)
	gts := []GT{{Box: box(0, 0, 10, 0, 0)}, {Box: box(50, 50, 10, 1, 0)}}
	e.Add([]inference.Detection{box(0, 0, 10, 0, 0.9), box(50, 50, 10, 1, 0.8)}, gts)
	r := e.Result()
	if r.MAP50 != 1 || r.Precision != 1 || r.Recall != 1 {
		t.Fatalf("perfect detections: %+v", r)
	}
	e = NewDetectionEval(0.5, 0.25)
	e.Add(nil, gts)
	if r := e.Result(); r.MAP50 != 0 || r.Recall != 0 {
		t.Fatalf("no detections: %+v", r)
	}
}

func TestAPHandComputed(t *testing.T) {
	// Four truth boxes; detections by score: TP, FP, TP, FP(wrong class), miss.
	e := NewDetectionEval(0.5, 0.5)
	gts := []GT{{Box: box(0, 0, 10, 0, 0)}, {Box: box(20, 0, 10, 0, 0)}, {Box: box(40, 0, 10, 0, 0)}, {Box: box(60, 0, 10, 0, 0)}}
	e.Add([]inference.Detection{
		box(0, 0, 10, 0, 0.9),  // TP
		box(0, 1, 10, 0, 0.8),  // duplicate of the first: FP
		box(21, 0, 10, 0, 0.7), // TP
		box(40, 0, 10, 1, 0.6), // wrong class: FP for class 1 (no truth there)
		box(80, 0, 10, 0, 0.3), // FP, below the operating threshold
	}, gts)
	r := e.Result()
	// Class 0: precision steps 1, 1/2, 2/3, 2/4; recall 1/4, 1/4, 2/4, 2/4.
	// Envelope at recall 1/4 = 1, at 2/4 = 2/3: AP = 0.25*1 + 0.25*2/3.
	want := 0.25 + 0.25*2.0/3
	if got := r.PerClass[0].AP; math.Abs(got-want) > 1e-9 {
		t.Fatalf("AP %v, want %v", got, want)
	}
	if math.Abs(r.MAP50-want) > 1e-9 { // class 1 has no truth: not averaged in
		t.Fatalf("mAP %v, want %v", r.MAP50, want)
	}
	// Operating point 0.5: TP 2, FP 2 (duplicate, wrong class); 4 truth.
	if r.Precision != 0.5 || r.Recall != 0.5 {
		t.Fatalf("precision %v recall %v, want 0.5 and 0.5", r.Precision, r.Recall)
	}
}

func TestIgnoredTruth(t *testing.T) {
	e := NewDetectionEval(0.5, 0.25)
	gts := []GT{{Box: box(0, 0, 10, 0, 0)}, {Box: box(30, 0, 10, 0, 0), Ignore: true}}
	// A detection on the hidden unit is not a false alarm; missing it is no miss.
	e.Add([]inference.Detection{box(0, 0, 10, 0, 0.9), box(30, 0, 10, 0, 0.8)}, gts)
	r := e.Result()
	if r.Precision != 1 || r.Recall != 1 || r.Truth != 1 {
		t.Fatalf("%+v", r)
	}
}
