package annotate

import (
	"testing"

	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/zones"
)

// belt is a fake detector: one object moving right by 8 pixels a frame,
// below the labels drawn at the top,
// boxes in the model's input (the frames are the input's size, so the
// letterbox is the identity).
type belt struct {
	info inference.ModelInfo
	x    float32
}

func (b *belt) Info() inference.ModelInfo { return b.info }

func (b *belt) Run(_ []float32, n int) ([][]inference.Detection, error) {
	b.x += 8
	return [][]inference.Detection{{{X1: b.x, Y1: 50, X2: b.x + 20, Y2: 70, Class: 1, Score: 0.9}}}, nil
}

func (b *belt) RunUInt8(_ []byte, n int) ([][]inference.Detection, error) { return b.Run(nil, n) }

// TestAnnotatorDrawsAndCounts: each frame gets its detection's box drawn
// where the detector put it, the object is tracked, crosses the line once,
// and is counted when the stream ends.
func TestAnnotatorDrawsAndCounts(t *testing.T) {
	det := &belt{info: inference.ModelInfo{Width: 160, Height: 96, Names: []string{"apple", "citrus"}}}
	line := zones.NewCounter(zones.Line{Name: "middle", A: zones.Point{X: 80, Y: 0}, B: zones.Point{X: 80, Y: 96}})
	a, err := New(Config{Detector: det, Lines: []*zones.Counter{line}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	img := gocv.NewMatWithSize(96, 160, gocv.MatTypeCV8UC3)
	defer img.Close()
	var last Frame
	for i := range 14 {
		img.SetTo(gocv.NewScalar(40, 40, 40, 0))
		f, err := a.Frame(&img)
		if err != nil {
			t.Fatal(err)
		}
		if f.Index != i || len(f.Dets) != 1 {
			t.Fatalf("frame %d: %+v", i, f)
		}
		d := f.Dets[0]
		// The box's left edge, mid-height, is drawn on (white, or the line
		// or the track's box over it); its centre is left alone.
		edge := img.GetVecbAt(int(d.Y1+d.Y2)/2, int(d.X1+0.5))
		centre := img.GetVecbAt(int(d.Y1+d.Y2)/2, int(d.X1+d.X2)/2)
		if max(edge[0], edge[1], edge[2]) < 200 || centre[0] != 40 {
			t.Fatalf("frame %d: box %+v edge pixel %v, centre %v", i, d, edge, centre)
		}
		last = f
	}
	if len(last.Tracks) != 1 || !last.Tracks[0].Confirmed {
		t.Fatalf("tracks %+v", last.Tracks)
	}
	if last.Lines[0].In["citrus"] != 1 || len(last.Lines[0].Out) != 0 {
		t.Fatalf("line %+v", last.Lines)
	}
	if got := a.Finish(); got["citrus"] != 1 || len(got) != 1 {
		t.Fatalf("counted %v at the end", got)
	}
}
