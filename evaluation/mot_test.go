package evaluation

import (
	"math"
	"testing"
)

func mb(id int, x float32) MOTBox { return MOTBox{ID: id, Box: box(x, 0, 10, 0, 1)} }

func TestMOTPerfect(t *testing.T) {
	e := NewMOTEval()
	for f := 0; f < 5; f++ {
		e.Add([]MOTBox{mb(1, float32(f)), mb(2, 50)}, []MOTBox{mb(7, float32(f)), mb(9, 50)})
	}
	r := e.Result()
	if r.MOTA != 1 || r.IDF1 != 1 || r.IDSW != 0 {
		t.Fatalf("%+v", r)
	}
}

func TestMOTSwitchMissAndFalseAlarm(t *testing.T) {
	e := NewMOTEval()
	// Truth 1 is tracked as 7 for two frames, then as 8 (a switch); frame 3
	// misses it; a false alarm in frame 0.
	e.Add([]MOTBox{mb(1, 0)}, []MOTBox{mb(7, 0), mb(5, 80)})
	e.Add([]MOTBox{mb(1, 1)}, []MOTBox{mb(7, 1)})
	e.Add([]MOTBox{mb(1, 2)}, []MOTBox{mb(8, 2)})
	e.Add([]MOTBox{mb(1, 3)}, nil)
	r := e.Result()
	if r.FN != 1 || r.FP != 1 || r.IDSW != 1 || r.GT != 4 {
		t.Fatalf("%+v", r)
	}
	if math.Abs(r.MOTA-(1-3.0/4)) > 1e-9 {
		t.Fatalf("MOTA %v", r.MOTA)
	}
	// IDTP: truth 1 <-> 7 for 2 frames; 4 truth boxes + 4 hypothesis boxes.
	if math.Abs(r.IDF1-2*2.0/8) > 1e-9 {
		t.Fatalf("IDF1 %v", r.IDF1)
	}
}

func TestMOTIgnoredTruth(t *testing.T) {
	e := NewMOTEval()
	e.Add([]MOTBox{{ID: 1, Box: box(0, 0, 10, 0, 1), Ignore: true}}, []MOTBox{mb(3, 0)})
	r := e.Result()
	if r.FP != 0 || r.FN != 0 || r.GT != 0 {
		t.Fatalf("%+v", r)
	}
}
