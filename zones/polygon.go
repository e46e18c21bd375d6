package zones

// Polygon is a zone: how many tracks are inside it now (supervision's
// PolygonZone).
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

// Count is the confirmed objects whose centre is inside, per class id.
func (z Polygon) Count(objs []Object) map[int]int {
	m := map[int]int{}
	for _, o := range objs {
		if o.Confirmed && z.Contains(o.Center) {
			m[o.Class]++
		}
	}
	return m
}
