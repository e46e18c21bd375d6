package zones

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Point is a position in frame pixels.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// DefaultBand is Line.Band's default.
const DefaultBand = 2

// Line is a count line: a segment from A to B across which tracks are
// counted "in" from side -1 to side +1 (see Side: left to right across a
// line drawn top to bottom) and "out" the other way (supervision's LineZone,
// Ultralytics' ObjectCounter).
type Line struct {
	// Name tells a camera's lines apart; it is what the counts are grouped
	// by. Letters, digits, '.', '_' and '-'.
	Name string `json:"name"`
	A    Point  `json:"a"`
	B    Point  `json:"b"`
	// Band is the distance (pixels) a track's centre must be from the line
	// before its side counts: a box jittering on the line is not crossing
	// it. Zero means DefaultBand.
	Band float64 `json:"band,omitempty"`
}

// ParseLine reads "x1,y1,x2,y2" or "NAME=x1,y1,x2,y2" (name "line" when
// none is given).
func ParseLine(s string) (Line, error) {
	l := Line{Name: "line"}
	spec := s
	if name, rest, ok := strings.Cut(s, "="); ok {
		l.Name, spec = strings.TrimSpace(name), rest
	}
	p := strings.Split(spec, ",")
	if len(p) != 4 {
		return Line{}, fmt.Errorf("line %q: want x1,y1,x2,y2 or NAME=x1,y1,x2,y2", s)
	}
	var v [4]float64
	for i, f := range p {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return Line{}, fmt.Errorf("line %q: %w", s, err)
		}
		v[i] = x
	}
	l.A, l.B = Point{v[0], v[1]}, Point{v[2], v[3]}
	if err := l.Validate(); err != nil {
		return Line{}, fmt.Errorf("line %q: %w", s, err)
	}
	return l, nil
}

// String is the line as ParseLine reads it.
func (l Line) String() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return l.Name + "=" + strings.Join([]string{f(l.A.X), f(l.A.Y), f(l.B.X), f(l.B.Y)}, ",")
}

// Validate checks the line on its own: a name, finite coordinates not
// below zero (frame pixels), two distinct ends, a band not below zero.
func (l Line) Validate() error {
	var errs []error
	if !lineName.MatchString(l.Name) {
		errs = append(errs, fmt.Errorf("name %q: want 1-64 letters, digits, '.', '_' or '-'", l.Name))
	}
	for _, v := range []float64{l.A.X, l.A.Y, l.B.X, l.B.Y} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > maxCoord {
			errs = append(errs, fmt.Errorf("coordinate %g: want frame pixels, 0 to %d", v, maxCoord))
			break
		}
	}
	if l.A == l.B {
		errs = append(errs, errors.New("the two ends are the same point"))
	}
	if math.IsNaN(l.Band) || l.Band < 0 || l.Band > maxCoord {
		errs = append(errs, fmt.Errorf("band %g: want 0 (default %d) or more pixels", l.Band, DefaultBand))
	}
	return errors.Join(errs...)
}

// maxCoord bounds coordinates: frames are far smaller, and a typo of a few
// digits is caught.
const maxCoord = 100_000

// Side is which side of A→B p lies on, -1 or +1 (in image coordinates: for
// a line drawn from top to bottom, +1 is the right of the frame), 0 within
// the band or beyond the segment's ends.
func (l Line) Side(p Point) int {
	dx, dy := l.B.X-l.A.X, l.B.Y-l.A.Y
	n := math.Hypot(dx, dy)
	// Beyond the segment's ends the side means nothing: an object passing
	// around the end of a line drawn across part of a belt does not cross.
	if t := ((p.X-l.A.X)*dx + (p.Y-l.A.Y)*dy) / (n * n); t < 0 || t > 1 {
		return 0
	}
	band := l.Band
	if band == 0 {
		band = DefaultBand
	}
	d := (dx*(p.Y-l.A.Y) - dy*(p.X-l.A.X)) / n
	switch {
	case d > band:
		return -1
	case d < -band:
		return 1
	}
	return 0
}

// Object is a track as a line sees it: one the tracker matched in the
// current frame (a predicted box is no evidence of a crossing).
type Object struct {
	Track  uint64
	Class  int
	Center Point
	// Confirmed tracks are counted; a tentative one's crossings wait for
	// its confirmation (a line near the edge a belt enters by is crossed
	// before the track is confirmed), and die with it.
	Confirmed bool
}

// Direction is a crossing's direction.
type Direction int8

// The directions: In from side -1 to +1, Out back.
const (
	In  Direction = 1
	Out Direction = -1
)

func (d Direction) String() string {
	if d == In {
		return "in"
	}
	return "out"
}

// Crossing is a track counted across a line.
type Crossing struct {
	Track uint64
	Class int
	Dir   Direction
	// At is the track's centre on the frame it was counted in.
	At Point
}

// Mark is what a line remembers of a track: the side it was last seen on,
// the directions it crossed in and those it was counted in.
type Mark struct {
	Side    int8
	Crossed uint8 // bit 0: in, bit 1: out
	Counted uint8
}

// Tally is a line's memory of the tracks open on it, by track id. It is
// persisted with the camera's tracker state, so a restart resumes it.
type Tally map[uint64]Mark

func bit(d Direction) uint8 {
	if d == In {
		return 1
	}
	return 2
}

// Cross takes the objects of a frame and returns the crossings it makes:
// confirmed tracks whose centre is on the other side from where the track
// was last on one, now or while it was tentative. A track is counted at
// most once per direction, so a box jittering back and forth over several
// frames, or an object pushed back on a belt, is not counted again. t is
// updated.
func (l Line) Cross(t Tally, objs []Object) []Crossing {
	var out []Crossing
	for _, o := range objs {
		was := t[o.Track]
		m := was
		if s := int8(l.Side(o.Center)); s != 0 {
			if m.Side != 0 && m.Side != s {
				m.Crossed |= bit(Direction(s)) // -1 → +1 is in
			}
			m.Side = s
		}
		if o.Confirmed && m.Crossed&^m.Counted != 0 {
			for _, d := range []Direction{In, Out} {
				if m.Crossed&bit(d) != 0 && m.Counted&bit(d) == 0 {
					m.Counted |= bit(d)
					out = append(out, Crossing{Track: o.Track, Class: o.Class, Dir: d, At: o.Center})
				}
			}
		}
		if m != was {
			t[o.Track] = m
		}
	}
	return out
}

// Keep drops the marks of tracks for which open is false (ended tracks:
// keeps the tally small on a feed that runs for days).
func (t Tally) Keep(open func(track uint64) bool) {
	for id := range t {
		if !open(id) {
			delete(t, id)
		}
	}
}

// Counter counts a line's crossings per class over a whole feed, for offline
// use (cropstream annotate); the track stage keeps a Tally per line in each
// camera's state instead.
type Counter struct {
	Line
	tally Tally
	// In and Out count crossings per class id.
	In, Out map[int]int
}

// NewCounter makes a counter for l.
func NewCounter(l Line) *Counter {
	return &Counter{Line: l, tally: Tally{}, In: map[int]int{}, Out: map[int]int{}}
}

// Update counts a frame's objects and forgets tracks no longer among them.
func (c *Counter) Update(objs []Object) {
	for _, x := range c.Line.Cross(c.tally, objs) {
		if x.Dir == In {
			c.In[x.Class]++
		} else {
			c.Out[x.Class]++
		}
	}
}

// Forget drops the marks of tracks not in open.
func (c *Counter) Forget(open []uint64) {
	keep := make(map[uint64]bool, len(open))
	for _, id := range open {
		keep[id] = true
	}
	c.tally.Keep(func(id uint64) bool { return keep[id] })
}
