package zones

import (
	"math/rand/v2"
	"testing"

	"github.com/cropstream/cropstream/processors/track"
)

// conveyor is a fixed camera over a belt: objects of two classes on two
// lanes enter at one edge and leave at the other (left to right for dir +1),
// seen by a detector that misses a few boxes and jitters the rest. in and
// out count, per class, the objects that crossed the middle of the frame
// each way.
type conveyor struct {
	frames  []track.Frame
	in, out map[int]int
}

func newConveyor(seed uint64, n int, dir float64) conveyor {
	rng := rand.New(rand.NewPCG(seed, 1))
	const (
		w, size = 640, 28.0
		speed   = 6.0
	)
	type obj struct {
		x, y, v float64
		class   int
	}
	var objs []obj
	c := conveyor{in: map[int]int{}, out: map[int]int{}}
	next := [2]int{}
	for f := 1; f <= n; f++ {
		for lane, y := range []float64{100, 250} {
			// Sparse enough that two objects of a lane never touch; none
			// enter in the last frames, so every object crosses.
			if f < next[lane] || f >= n-150 {
				continue
			}
			o := obj{x: -size, y: y + rng.Float64()*20, v: speed * dir, class: rng.IntN(2)}
			if dir < 0 {
				o.x = w + size
			}
			objs = append(objs, o)
			if dir > 0 {
				c.in[o.class]++
			} else {
				c.out[o.class]++
			}
			next[lane] = f + 9 + rng.IntN(12)
		}
		fr := track.Frame{Seq: uint64(f), Width: w}
		for i := range objs {
			o := &objs[i]
			o.x += o.v
			if o.x < -2*size || o.x > w+2*size || rng.Float64() < 0.05 {
				continue
			}
			j := func() float64 { return (rng.Float64() - 0.5) * 2 }
			x1, x2 := max(o.x-size/2+j(), 0), min(o.x+size/2+j(), w)
			if x2-x1 < 4 {
				continue
			}
			fr.Dets = append(fr.Dets, track.Det{X1: x1, Y1: o.y - size/2 + j(), X2: x2, Y2: o.y + size/2 + j(), Class: o.class, Score: 0.8 + 0.15*rng.Float64()})
		}
		c.frames = append(c.frames, fr)
	}
	return c
}

// TestLineCountsConveyor: a line across the middle of a conveyor counts, per
// class, as many objects in (belt running left to right) and out (right to
// left) as crossed it, through the track stage's tracker.
func TestLineCountsConveyor(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		for _, dir := range []float64{1, -1} {
			c := newConveyor(seed, 600, dir)
			line := NewLine(Point{320, 0}, Point{320, 360})
			var st track.State
			for _, f := range c.frames {
				st.Step(track.Params{}, f)
				views := st.Views(track.Params{})
				line.Update(views)
				line.Forget(views)
			}
			for class := range 2 {
				if line.In[class] != c.in[class] || line.Out[class] != c.out[class] {
					t.Errorf("seed %d belt %+.0f class %d: counted in %d out %d, crossed in %d out %d", seed, dir, class, line.In[class], line.Out[class], c.in[class], c.out[class])
				}
			}
			if n := c.in[0] + c.in[1] + c.out[0] + c.out[1]; n < 40 || c.in[0]+c.out[0] == 0 || c.in[1]+c.out[1] == 0 {
				t.Fatalf("seed %d: too few objects to test: %v %v", seed, c.in, c.out)
			}
		}
	}
}

// TestLineIgnoresJitterAndEnds: a box shaking on the line is not a
// crossing, nor is a pass around the line's end.
func TestLineIgnoresJitterAndEnds(t *testing.T) {
	l := NewLine(Point{100, 0}, Point{100, 100})
	for i := range 20 {
		x := 100 + float64(i%2)*3 - 1.5 // within the band
		l.Update([]track.TrackView{{ID: 1, Confirmed: true, X1: x - 5, X2: x + 5, Y1: 45, Y2: 55}})
	}
	for x := 50.0; x <= 150; x += 10 { // below the line's lower end
		l.Update([]track.TrackView{{ID: 2, Confirmed: true, X1: x - 5, X2: x + 5, Y1: 145, Y2: 155}})
	}
	for x := 50.0; x <= 150; x += 10 { // a real crossing, then back
		l.Update([]track.TrackView{{ID: 3, Class: 1, Confirmed: true, X1: x - 5, X2: x + 5, Y1: 45, Y2: 55}})
	}
	for x := 150.0; x >= 50; x -= 10 {
		l.Update([]track.TrackView{{ID: 3, Class: 1, Confirmed: true, X1: x - 5, X2: x + 5, Y1: 45, Y2: 55}})
	}
	if l.In[0] != 0 || l.Out[0] != 0 || l.In[1] != 1 || l.Out[1] != 1 {
		t.Fatalf("in %v out %v", l.In, l.Out)
	}
}

func TestPolygonCounts(t *testing.T) {
	z := Polygon{Points: []Point{{0, 0}, {100, 0}, {100, 100}, {0, 100}}}
	got := z.Count([]track.TrackView{
		{ID: 1, Confirmed: true, X1: 10, X2: 20, Y1: 10, Y2: 20},
		{ID: 2, Confirmed: true, Class: 1, X1: 50, X2: 60, Y1: 50, Y2: 60},
		{ID: 3, Confirmed: true, X1: 150, X2: 160, Y1: 10, Y2: 20}, // outside
		{ID: 4, Confirmed: false, X1: 10, X2: 20, Y1: 10, Y2: 20},  // tentative
	})
	if got[0] != 1 || got[1] != 1 {
		t.Fatalf("inside: %v", got)
	}
	if _, err := ParseLine("1,2,3"); err == nil {
		t.Error("a line of three numbers parsed")
	}
	if l, err := ParseLine("320,0,320,360"); err != nil || l.A.X != 320 || l.B.Y != 360 {
		t.Errorf("ParseLine: %+v %v", l, err)
	}
}
