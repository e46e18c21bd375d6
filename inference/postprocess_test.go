package inference

import (
	"math"
	"testing"
)

// yolov8Output builds a [4+nc, A] output from anchors given as
// (cx, cy, w, h, class, score).
func yolov8Output(nc int, anchors [][6]float32) []float32 {
	A := len(anchors)
	out := make([]float32, (4+nc)*A)
	for a, v := range anchors {
		for ch := 0; ch < 4; ch++ {
			out[ch*A+a] = v[ch]
		}
		out[(4+int(v[4]))*A+a] = v[5]
	}
	return out
}

func TestDecodeYOLOv8AndNMS(t *testing.T) {
	anchors := [][6]float32{
		{100, 100, 40, 40, 0, 0.9},  // apple A
		{102, 101, 40, 40, 0, 0.8},  // duplicate of A: suppressed
		{101, 100, 40, 40, 1, 0.7},  // same place, other class: kept (class-aware)
		{300, 200, 20, 30, 2, 0.6},  // cluster
		{500, 300, 10, 10, 0, 0.1},  // below threshold
		{130, 100, 40, 40, 0, 0.85}, // overlaps A by IoU 0.45 < 0.5: kept
	}
	out := yolov8Output(3, anchors)
	dets := decodeYOLOv8(out, 3, len(anchors), false, 0.25)
	if len(dets) != 5 {
		t.Fatalf("decoded %d boxes above 0.25, want 5", len(dets))
	}
	if d := dets[0]; d.X1 != 80 || d.Y1 != 80 || d.X2 != 120 || d.Y2 != 120 || d.Class != 0 {
		t.Fatalf("centre/size not converted to corners: %+v", d)
	}
	kept := NMS(dets, 0.5, 300)
	if len(kept) != 4 {
		t.Fatalf("NMS kept %d, want 4: %+v", len(kept), kept)
	}
	if kept[0].Score != 0.9 || kept[1].Score != 0.85 {
		t.Fatalf("NMS order %+v, want best first", kept)
	}
	for _, k := range kept {
		if k.Score == 0.8 {
			t.Fatal("duplicate box of the same class survived NMS")
		}
	}
	if got := NMS(append([]Detection(nil), dets...), 0.5, 2); len(got) != 2 {
		t.Fatalf("maxDet 2 kept %d", len(got))
	}
}

func TestDecodeTransposedMatches(t *testing.T) {
	anchors := [][6]float32{{100, 100, 40, 40, 0, 0.9}, {300, 200, 20, 30, 2, 0.6}}
	nc, A := 3, len(anchors)
	plain := yolov8Output(nc, anchors)
	tr := make([]float32, len(plain))
	for ch := 0; ch < 4+nc; ch++ {
		for a := 0; a < A; a++ {
			tr[a*(4+nc)+ch] = plain[ch*A+a]
		}
	}
	a := decodeYOLOv8(plain, nc, A, false, 0.25)
	b := decodeYOLOv8(tr, nc, A, true, 0.25)
	if len(a) != 2 || len(b) != 2 || a[0] != b[0] || a[1] != b[1] {
		t.Fatalf("layouts disagree: %+v vs %+v", a, b)
	}
}

func TestDecodeEndToEnd(t *testing.T) {
	out := []float32{10, 20, 50, 60, 0.9, 2, 0, 0, 1, 1, 0.01, 0}
	d := decodeEndToEnd(out, 2, 0.25)
	if len(d) != 1 || d[0].Class != 2 || d[0].X2 != 50 {
		t.Fatalf("end-to-end decode %+v", d)
	}
}

func TestLetterboxRoundTrip(t *testing.T) {
	for _, c := range []struct{ sw, sh, dw, dh int }{{1280, 720, 512, 288}, {1920, 1080, 640, 640}, {640, 480, 512, 288}, {720, 1280, 640, 640}} {
		lb := NewLetterbox(c.sw, c.sh, c.dw, c.dh)
		box := Detection{X1: 100, Y1: 50, X2: 300, Y2: 200}
		in := lb.ToInput(box)
		if in.X1 < 0 || in.X2 > float32(c.dw) || in.Y1 < 0 || in.Y2 > float32(c.dh) {
			t.Fatalf("%v: box outside input %+v", c, in)
		}
		back := lb.ToFrame(in)
		for _, v := range [][2]float32{{back.X1, box.X1}, {back.Y1, box.Y1}, {back.X2, box.X2}, {back.Y2, box.Y2}} {
			if math.Abs(float64(v[0]-v[1])) > 0.01 {
				t.Fatalf("%v: round trip %+v -> %+v", c, box, back)
			}
		}
	}
	// Boxes reaching into the padding are clipped to the frame.
	lb := NewLetterbox(640, 480, 640, 640) // pads 80 rows top and bottom
	d := lb.ToFrame(Detection{X1: -5, Y1: 10, X2: 700, Y2: 630})
	if d.X1 != 0 || d.Y1 != 0 || d.X2 != 640 || d.Y2 != 480 {
		t.Fatalf("not clipped: %+v", d)
	}
}

func TestMetadataParsing(t *testing.T) {
	names, err := parseNames("{0: 'apple', 1: 'citrus', 2: 'grape_cluster'}")
	if err != nil || len(names) != 3 || names[2] != "grape_cluster" {
		t.Fatalf("names %v %v", names, err)
	}
	if _, err := parseNames("apple,citrus"); err == nil {
		t.Fatal("non-dict names accepted")
	}
	cs, err := parseCountScores("0.70, 0.74,0.65", 3)
	if err != nil || len(cs) != 3 || cs[1] != 0.74 {
		t.Fatalf("count scores %v %v", cs, err)
	}
	for _, bad := range []string{"0.7,0.74", "0.7,1.2,0.6", "0.7,x,0.6", ""} {
		if _, err := parseCountScores(bad, 3); err == nil {
			t.Fatalf("count scores %q accepted for 3 classes", bad)
		}
	}
	if c, err := parseConf(" 0.35"); err != nil || c != 0.35 {
		t.Fatalf("conf %v %v", c, err)
	}
	for _, bad := range []string{"0", "1", "0.3,0.4", "high"} {
		if _, err := parseConf(bad); err == nil {
			t.Fatalf("conf %q accepted", bad)
		}
	}
	h, w, err := parseImgsz("[288, 512]")
	if err != nil || h != 288 || w != 512 {
		t.Fatalf("imgsz %d %d %v", h, w, err)
	}
	for _, c := range []struct {
		dims []int64
		nc   int
		want Layout
		a    int
	}{
		{[]int64{1, 84, 8400}, 80, LayoutYOLOv8, 8400},
		{[]int64{1, 8400, 84}, 80, LayoutYOLOv8T, 8400},
		{[]int64{1, 300, 6}, 80, LayoutEndToEnd, 300},
		{[]int64{-1, 7, 2304}, 3, LayoutYOLOv8, 2304},
		{[]int64{1, 7, 2304}, 0, LayoutYOLOv8, 2304},
	} {
		l, _, a, err := resolveLayout(c.dims, c.nc)
		if err != nil || l != c.want || a != c.a {
			t.Errorf("%v nc=%d: %v %d %v, want %v %d", c.dims, c.nc, l, a, err, c.want, c.a)
		}
	}
	if _, _, _, err := resolveLayout([]int64{1, 2, 3, 4}, 3); err == nil {
		t.Fatal("4-d output accepted")
	}
}
