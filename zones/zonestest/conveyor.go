// Package zonestest renders conveyor scenarios as detections, with the
// crossings each count line should see, for tests of counting across lines.
package zonestest

import (
	"fmt"
	"math/rand/v2"

	"github.com/cropstream/cropstream/schema"
)

// Conveyor is a fixed camera over a belt: objects of two classes on two
// lanes enter at one edge and leave at the other, seen by a detector that
// misses a few boxes and jitters the rest.
type Conveyor struct {
	// Records are the detections, one per frame, then an end-of-stream
	// record.
	Records []*schema.Detections
	// In and Out count, per class id, the objects that crossed the middle
	// of the frame (x = Width/2) each way: in left to right.
	In, Out map[int]int
}

// Frame size and the class names the records carry.
const (
	Width, Height = 640, 360
)

// ClassNames are the conveyor's classes.
var ClassNames = []string{"apple", "citrus"}

// Segment describes one stretch of belt: how many frames, which way it
// runs (+1 left to right, -1 right to left).
type Segment struct {
	Frames int
	Dir    float64
}

// NewConveyor renders the belt of camera in stream, one segment after the
// other (a belt that reverses), from capture time startNs at 10 frames/s.
// Every object that enters crosses the middle before the segment ends.
func NewConveyor(seed uint64, camera, stream string, startNs int64, segments ...Segment) Conveyor {
	rng := rand.New(rand.NewPCG(seed, 1))
	const (
		size  = 28.0
		speed = 6.0
	)
	type obj struct {
		x, y, v float64
		class   int
	}
	c := Conveyor{In: map[int]int{}, Out: map[int]int{}}
	seq := uint64(0)
	for _, sg := range segments {
		var objs []obj
		next := [2]int{}
		for f := 1; f <= sg.Frames; f++ {
			for lane, y := range []float64{100, 250} {
				// Sparse enough that two objects of a lane never touch;
				// none enter in the last frames, so every object crosses.
				if f < next[lane] || f >= sg.Frames-150 {
					continue
				}
				o := obj{x: -size, y: y + rng.Float64()*20, v: speed * sg.Dir, class: rng.IntN(2)}
				if sg.Dir < 0 {
					o.x = Width + size
				}
				objs = append(objs, o)
				if sg.Dir > 0 {
					c.In[o.class]++
				} else {
					c.Out[o.class]++
				}
				next[lane] = f + 9 + rng.IntN(12)
			}
			seq++
			d := &schema.Detections{FrameId: fmt.Sprintf("%s-%s-%d", camera, stream, seq), CameraId: camera, StreamId: stream,
				Sequence: seq, CaptureUnixNs: startNs + int64(seq)*100_000_000, Width: Width, Height: Height, ClassNames: ClassNames,
				CountScores: []float32{0.5, 0.5}}
			for i := range objs {
				o := &objs[i]
				o.x += o.v
				if o.x < -2*size || o.x > Width+2*size || rng.Float64() < 0.05 {
					continue
				}
				j := func() float64 { return (rng.Float64() - 0.5) * 2 }
				x1, x2 := max(o.x-size/2+j(), 0), min(o.x+size/2+j(), Width)
				if x2-x1 < 4 {
					continue
				}
				d.Detections = append(d.Detections, &schema.Detection{ClassId: uint32(o.class), Score: float32(0.8 + 0.15*rng.Float64()),
					Box: &schema.Box{X1: float32(x1), Y1: float32(o.y - size/2 + j()), X2: float32(x2), Y2: float32(o.y + size/2 + j())}})
			}
			c.Records = append(c.Records, d)
		}
	}
	seq++
	c.Records = append(c.Records, &schema.Detections{FrameId: fmt.Sprintf("%s-%s-end", camera, stream), CameraId: camera, StreamId: stream,
		Sequence: seq, CaptureUnixNs: startNs + int64(seq)*100_000_000, Width: Width, Height: Height, EndOfStream: true})
	return c
}
