// Package zones counts tracks against lines and polygons drawn on a camera's
// view, for feeds that are not a camera driving along a row: a packing-line
// conveyor, a gate. A Line counts each track that crosses it, per class and
// direction (supervision's LineZone, Ultralytics' ObjectCounter); a Polygon
// says how many tracks are inside it now, per class (PolygonZone). Both are
// pure: they take the tracker's open tracks frame by frame.
package zones

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cropstream/cropstream/processors/track"
)

// Point is a position in frame pixels.
type Point struct{ X, Y float64 }

// Line counts crossings of the segment A→B: "in" from side -1 to side +1
// (see Side: left to right across a line drawn top to bottom), "out" the
// other way.
type Line struct {
	A, B Point
	// Band is the distance (pixels) a track's centre must be from the line
	// before its side counts: a box jittering on the line is not crossing
	// it. Default 2.
	Band float64

	side map[uint64]int // track id -> last side seen (-1, +1)
	// In and Out count crossings per class id.
	In, Out map[int]int
}

// ParseLine reads "x1,y1,x2,y2".
func ParseLine(s string) (*Line, error) {
	p := strings.Split(s, ",")
	if len(p) != 4 {
		return nil, fmt.Errorf("line %q: want x1,y1,x2,y2", s)
	}
	var v [4]float64
	for i, f := range p {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, fmt.Errorf("line %q: %w", s, err)
		}
		v[i] = x
	}
	if v[0] == v[2] && v[1] == v[3] {
		return nil, fmt.Errorf("line %q: the two ends are the same point", s)
	}
	return NewLine(Point{v[0], v[1]}, Point{v[2], v[3]}), nil
}

// NewLine makes a line from a to b.
func NewLine(a, b Point) *Line {
	return &Line{A: a, B: b, Band: 2, side: map[uint64]int{}, In: map[int]int{}, Out: map[int]int{}}
}

// Side is which side of A→B p lies on, -1 or +1 (in image coordinates: for
// a line drawn from top to bottom, +1 is the right of the frame), 0 within
// the band or beyond the segment's ends.
func (l *Line) Side(p Point) int {
	dx, dy := l.B.X-l.A.X, l.B.Y-l.A.Y
	n := math.Hypot(dx, dy)
	// Beyond the segment's ends the side means nothing: an object passing
	// around the end of a line drawn across part of a belt does not cross.
	if t := ((p.X-l.A.X)*dx + (p.Y-l.A.Y)*dy) / (n * n); t < 0 || t > 1 {
		return 0
	}
	d := (dx*(p.Y-l.A.Y) - dy*(p.X-l.A.X)) / n
	switch {
	case d > l.Band:
		return -1
	case d < -l.Band:
		return 1
	}
	return 0
}

// Update takes the open tracks after a frame and counts those whose centre
// changed side since the track was last on one: -1 → +1 is in, +1 → -1 out.
// Tracks that are lost (not seen in this frame) are left as they were; their
// predicted box is no evidence of a crossing.
func (l *Line) Update(tracks []track.TrackView) {
	for _, t := range tracks {
		if !t.Confirmed || t.Duplicate || t.Lost > 0 {
			continue
		}
		s := l.Side(Point{(t.X1 + t.X2) / 2, (t.Y1 + t.Y2) / 2})
		if s == 0 {
			continue
		}
		prev, seen := l.side[t.ID]
		l.side[t.ID] = s
		switch {
		case !seen || prev == s:
		case s > 0:
			l.In[t.Class]++
		default:
			l.Out[t.Class]++
		}
	}
}

// Forget drops the sides of tracks no longer open (keeps the map small on a
// feed that runs for days).
func (l *Line) Forget(open []track.TrackView) {
	keep := make(map[uint64]bool, len(open))
	for _, t := range open {
		keep[t.ID] = true
	}
	for id := range l.side {
		if !keep[id] {
			delete(l.side, id)
		}
	}
}

// Polygon is a zone: how many tracks are inside it now.
type Polygon struct {
	Points []Point
}

// Contains reports whether p is inside (even-odd rule).
func (z Polygon) Contains(p Point) bool {
	in := false
	n := len(z.Points)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := z.Points[i], z.Points[j]
		if (a.Y > p.Y) != (b.Y > p.Y) && p.X < (b.X-a.X)*(p.Y-a.Y)/(b.Y-a.Y)+a.X {
			in = !in
		}
	}
	return in
}

// Count is the confirmed tracks seen in this frame whose centre is inside,
// per class id.
func (z Polygon) Count(tracks []track.TrackView) map[int]int {
	m := map[int]int{}
	for _, t := range tracks {
		if t.Confirmed && !t.Duplicate && t.Lost == 0 && z.Contains(Point{(t.X1 + t.X2) / 2, (t.Y1 + t.Y2) / 2}) {
			m[t.Class]++
		}
	}
	return m
}
