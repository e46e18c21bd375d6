package evaluation

import (
	"testing"

	"github.com/cropstream/cropstream/schema"
)

// Two fruit fixed on the row, the camera moving 30 px a frame: boxes 20 px
// wide never overlap from one frame to the next. Given the camera's motion
// (position x pixels per metre) ByteTrack keeps one identity per fruit;
// without it, it loses them.
func TestByteTrackWithCameraMotion(t *testing.T) {
	var ds []*schema.Detections
	for f := range 12 {
		pos := float64(f) * 0.3 // metres; 100 px per metre: 30 px a frame
		d := &schema.Detections{RowId: "R1", Sequence: uint64(f + 1), PositionM: &pos}
		for _, x0 := range []float32{600, 900} {
			x := x0 - float32(30*f)
			d.Detections = append(d.Detections, &schema.Detection{Score: 0.9, Box: &schema.Box{X1: x, Y1: 100, X2: x + 20, Y2: 120}})
		}
		ds = append(ds, d)
	}
	ids := func(out [][]MOTBox) (map[int]bool, int) {
		m, n := map[int]bool{}, 0
		for _, fr := range out {
			for _, b := range fr {
				m[b.ID] = true
				n++
			}
		}
		return m, n
	}
	with, n := ids(ByteTrack(ByteTrackConfig{PxPerM: 100, FrameRate: 10}, ds))
	if len(with) != 2 || n != 24 {
		t.Fatalf("with the camera's motion: %d identities, %d boxes; want 2 and every box (activated in frame 1)", len(with), n)
	}
	// Without it every track is lost at the second frame and no new one
	// survives to activation: frame 1 is reported, and little else (a lost
	// track can take another fruit that reaches its old place).
	if _, n := ids(ByteTrack(ByteTrackConfig{FrameRate: 10}, ds)); n > 4 {
		t.Fatalf("without the camera's motion: %d boxes reported, want about the 2 of frame 1", n)
	}
	// Output boxes are in frame coordinates.
	out := ByteTrack(ByteTrackConfig{PxPerM: 100, FrameRate: 10}, ds)
	if b := out[5][0].Box; b.X1 < 440 || b.X1 > 460 {
		t.Fatalf("frame 6 box at x %v, want about 450", b.X1)
	}
}

// A track confirmed after frame 1 is reported from its second box on, and a
// lone low-score box starts nothing.
func TestByteTrackActivation(t *testing.T) {
	var ds []*schema.Detections
	for f := range 5 {
		d := &schema.Detections{RowId: "R1", Sequence: uint64(f + 1)}
		if f >= 1 {
			d.Detections = append(d.Detections, &schema.Detection{Score: 0.9, Box: &schema.Box{X1: 10, Y1: 10, X2: 50, Y2: 50}})
		}
		d.Detections = append(d.Detections, &schema.Detection{Score: 0.3, Box: &schema.Box{X1: 300, Y1: 10, X2: 340, Y2: 50}})
		ds = append(ds, d)
	}
	out := ByteTrack(ByteTrackConfig{}, ds)
	got := []int{len(out[0]), len(out[1]), len(out[2]), len(out[3]), len(out[4])}
	if got[0] != 0 || got[1] != 0 || got[2] != 1 || got[4] != 1 {
		t.Fatalf("boxes per frame %v, want 0 0 1 1 1", got)
	}
}
