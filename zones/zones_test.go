package zones_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/zones"
	"github.com/cropstream/cropstream/zones/zonestest"
)

var middle = zones.Line{Name: "middle", A: zones.Point{X: 320, Y: 0}, B: zones.Point{X: 320, Y: zonestest.Height}}

// TestLineCountsConveyor: a line across a conveyor counts, per class, as
// many objects in (belt running left to right) and out (right to left) as
// crossed it, through the track stage's tracker: across the middle, and
// near either edge of the frame (an object crosses a line near the edge it
// enters by before its track is confirmed).
func TestLineCountsConveyor(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		for _, segs := range [][]zonestest.Segment{{{Frames: 600, Dir: 1}}, {{Frames: 600, Dir: -1}}} {
			c := zonestest.NewConveyor(seed, "belt", "", 0, segs...)
			var lines []*zones.Counter
			for _, x := range []float64{48, 320, 592} {
				lines = append(lines, zones.NewCounter(zones.Line{Name: "x", A: zones.Point{X: x, Y: 0}, B: zones.Point{X: x, Y: zonestest.Height}}))
			}
			var st track.State
			for _, d := range c.Records {
				st.Step(track.Params{}, track.FrameOf(d))
				for _, line := range lines {
					line.Update(st.Seen())
					line.Forget(st.OpenIDs())
				}
			}
			for _, line := range lines {
				for class := range 2 {
					if line.In[class] != c.In[class] || line.Out[class] != c.Out[class] {
						t.Errorf("seed %d belt %v line at x=%g class %d: counted in %d out %d, crossed in %d out %d", seed, segs, line.A.X, class, line.In[class], line.Out[class], c.In[class], c.Out[class])
					}
				}
			}
			if n := c.In[0] + c.In[1] + c.Out[0] + c.Out[1]; n < 40 || c.In[0]+c.Out[0] == 0 || c.In[1]+c.Out[1] == 0 {
				t.Fatalf("seed %d: too few objects to test: %v %v", seed, c.In, c.Out)
			}
		}
	}
}

func obj(id uint64, class int, x, y float64) []zones.Object {
	return []zones.Object{{Track: id, Class: class, Center: zones.Point{X: x, Y: y}, Confirmed: true}}
}

// TestLineIgnoresJitterAndEnds: a box shaking on the line is not a
// crossing, nor is a pass around the line's end; a track crossing back and
// forth counts once each way.
func TestLineIgnoresJitterAndEnds(t *testing.T) {
	l := zones.NewCounter(zones.Line{Name: "l", A: zones.Point{X: 100, Y: 0}, B: zones.Point{X: 100, Y: 100}})
	for i := range 20 {
		l.Update(obj(1, 0, 100+float64(i%2)*3-1.5, 50)) // within the band
	}
	for x := 50.0; x <= 150; x += 10 {
		l.Update(obj(2, 0, x, 150)) // below the line's lower end
	}
	for range 3 { // across and back, three times
		for x := 50.0; x <= 150; x += 10 {
			l.Update(obj(3, 1, x, 50))
		}
		for x := 150.0; x >= 50; x -= 10 {
			l.Update(obj(3, 1, x, 50))
		}
	}
	if l.In[0] != 0 || l.Out[0] != 0 || l.In[1] != 1 || l.Out[1] != 1 {
		t.Fatalf("in %v out %v", l.In, l.Out)
	}
	// A track first seen on the far side was never seen crossing.
	l.Update(obj(4, 0, 150, 50))
	if l.Out[0] != 0 || l.In[0] != 0 {
		t.Fatalf("a track first seen past the line counted: in %v out %v", l.In, l.Out)
	}
}

// TestTentativeCrossingsWait: a track that crosses while tentative is
// counted when it is confirmed, once; one that dies tentative never is.
func TestTentativeCrossingsWait(t *testing.T) {
	l := zones.Line{Name: "l", A: zones.Point{X: 100, Y: 0}, B: zones.Point{X: 100, Y: 100}}
	tally := zones.Tally{}
	step := func(x float64, confirmed bool) []zones.Crossing {
		return l.Cross(tally, []zones.Object{{Track: 1, Class: 3, Center: zones.Point{X: x, Y: 50}, Confirmed: confirmed}})
	}
	if got := append(step(80, false), step(120, false)...); len(got) != 0 {
		t.Fatalf("a tentative track counted: %+v", got)
	}
	if got := step(130, true); len(got) != 1 || got[0].Dir != zones.In || got[0].Class != 3 || got[0].At.X != 130 {
		t.Fatalf("at confirmation: %+v", got)
	}
	if got := step(140, true); len(got) != 0 {
		t.Fatalf("counted again: %+v", got)
	}
	tally2 := zones.Tally{}
	l.Cross(tally2, []zones.Object{{Track: 2, Center: zones.Point{X: 80, Y: 50}}})
	l.Cross(tally2, []zones.Object{{Track: 2, Center: zones.Point{X: 120, Y: 50}}})
	tally2.Keep(func(uint64) bool { return false }) // it died tentative
	if got := l.Cross(tally2, []zones.Object{{Track: 2, Center: zones.Point{X: 120, Y: 50}, Confirmed: true}}); len(got) != 0 {
		t.Fatalf("a forgotten track's crossing counted: %+v", got)
	}
}

// TestCrossReturnsEachOnce: Cross reports a crossing with its track, class,
// direction and place, once per direction, and Keep forgets ended tracks
// (a track id seen again after it is forgotten starts afresh).
func TestCrossReturnsEachOnce(t *testing.T) {
	l := zones.Line{Name: "gate", A: zones.Point{X: 0, Y: 50}, B: zones.Point{X: 200, Y: 50}} // horizontal, drawn left to right
	tally := zones.Tally{}
	var got []zones.Crossing
	for y := 0.0; y <= 100; y += 10 { // top to bottom: the line's right is above it
		got = append(got, l.Cross(tally, obj(7, 2, 80, y))...)
	}
	if len(got) != 1 || got[0].Track != 7 || got[0].Class != 2 || got[0].Dir != zones.Out || got[0].At.Y != 60 {
		t.Fatalf("crossings %+v", got)
	}
	tally.Keep(func(uint64) bool { return false })
	if len(tally) != 0 {
		t.Fatalf("tally kept %v", tally)
	}
}

func TestPolygonCounts(t *testing.T) {
	z := zones.Polygon{Points: []zones.Point{{X: 0, Y: 0}, {X: 100, Y: 0}, {X: 100, Y: 100}, {X: 0, Y: 100}}}
	got := z.Count([]zones.Object{
		{Track: 1, Center: zones.Point{X: 15, Y: 15}, Confirmed: true},
		{Track: 2, Class: 1, Center: zones.Point{X: 55, Y: 55}, Confirmed: true},
		{Track: 3, Center: zones.Point{X: 155, Y: 15}, Confirmed: true}, // outside
		{Track: 4, Center: zones.Point{X: 15, Y: 15}},                   // tentative
	})
	if got[0] != 1 || got[1] != 1 {
		t.Fatalf("inside: %v", got)
	}
}

// TestParseAndValidate: lines parse with and without a name and print back;
// bad lines and records are refused with the reason.
func TestParseAndValidate(t *testing.T) {
	if l, err := zones.ParseLine("320,0,320,360"); err != nil || l.Name != "line" || l.A.X != 320 || l.B.Y != 360 {
		t.Errorf("ParseLine: %+v %v", l, err)
	}
	l, err := zones.ParseLine("belt-1=10.5,0,10.5,360")
	if err != nil || l.String() != "belt-1=10.5,0,10.5,360" {
		t.Errorf("ParseLine: %+v %v", l, err)
	}
	for spec, want := range map[string]string{
		"1,2,3":           "want x1,y1,x2,y2",
		"a=1,2,1,2":       "same point",
		"a=1,2,x,4":       "invalid syntax",
		"a=-1,0,5,5":      "want frame pixels",
		"a b=1,2,3,4":     "name",
		"a=1,2,3,NaN":     "want frame pixels",
		"a=0,0,1e9,0":     "want frame pixels",
		"=0,0,10,0":       "name",
		"ok=0,0,10,0,1,2": "want x1,y1,x2,y2",
	} {
		if _, err := zones.ParseLine(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseLine(%q): %v, want an error saying %q", spec, err, want)
		}
	}
	c := zones.CameraLines{Camera: "packing-2", Lines: []zones.Line{l, l}}
	if err := c.Validate(); !errors.Is(err, zones.ErrInvalid) || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("duplicate names: %v", err)
	}
	c = zones.CameraLines{Camera: "bad camera", Lines: []zones.Line{l}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "camera") {
		t.Errorf("bad camera id: %v", err)
	}
	c = zones.CameraLines{Camera: "packing-2", Lines: []zones.Line{l, middle}, UpdatedUnixNs: 5}
	b, err := zones.Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := zones.Decode(b)
	if err != nil || len(back.Lines) != 2 || back.Lines[1] != middle || back.UpdatedUnixNs != 5 {
		t.Errorf("round trip: %+v %v", back, err)
	}
	if _, err := zones.Decode([]byte(`{"camera":"c","lines":[{"name":"x","a":{"x":1,"y":1},"b":{"x":1,"y":1}}]}`)); !errors.Is(err, zones.ErrInvalid) {
		t.Errorf("a record with a zero-length line decoded: %v", err)
	}
	if _, err := zones.Decode([]byte(`not json`)); !errors.Is(err, zones.ErrInvalid) {
		t.Errorf("not JSON: %v", err)
	}
}

func TestWriteSet(t *testing.T) {
	c, err := zones.ParseCameraLines("gate-1", []string{"in-lane=0,200,640,200", "out-lane=640,280,0,280"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := c.WriteSet(&b); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "camera gate-1: line in-lane=0,200,640,200\ncamera gate-1: line out-lane=640,280,0,280\n"; got != want {
		t.Errorf("set printed %q, want %q", got, want)
	}
	// No lines: what `zones clear` set.
	b.Reset()
	cleared, err := zones.ParseCameraLines("gate-1", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := cleared.WriteSet(&b); err != nil || b.String() != "camera gate-1: count lines removed\n" {
		t.Errorf("clear printed %q, %v", b.String(), err)
	}
}
