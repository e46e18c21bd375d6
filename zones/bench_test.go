package zones_test

import (
	"fmt"
	"testing"

	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/zones"
	"github.com/cropstream/cropstream/zones/zonestest"
)

// BenchmarkConveyorFrame is the tracker's cost per conveyor frame alone and
// with lines counted as the track stage counts them (Seen, Cross and Keep
// per line).
func BenchmarkConveyorFrame(b *testing.B) {
	c := zonestest.NewConveyor(1, "belt", "", 0, zonestest.Segment{Frames: 600, Dir: 1})
	frames := make([]track.Frame, len(c.Records))
	for i, d := range c.Records {
		frames[i] = track.FrameOf(d)
	}
	for _, n := range []int{0, 1, 3} {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			var lines []zones.Line
			for i := range n {
				x := float64(100 + 200*i)
				lines = append(lines, zones.Line{Name: fmt.Sprint(i), A: zones.Point{X: x}, B: zones.Point{X: x, Y: zonestest.Height}})
			}
			var st track.State
			tallies := make([]zones.Tally, n)
			for i := 0; b.Loop(); i++ {
				k := i % len(frames)
				if k == 0 {
					st = track.State{}
					for j := range tallies {
						tallies[j] = zones.Tally{}
					}
				}
				st.Step(track.Params{}, frames[k])
				if n == 0 {
					continue
				}
				seen := st.Seen()
				open := map[uint64]bool{}
				for _, id := range st.OpenIDs() {
					open[id] = true
				}
				for j, l := range lines {
					l.Cross(tallies[j], seen)
					tallies[j].Keep(func(id uint64) bool { return open[id] })
				}
			}
		})
	}
}

// BenchmarkLinesPerFrame is what counting lines adds to a conveyor frame,
// the tracker's work left out: Cross and Keep per line on the tracks the
// tracker saw.
func BenchmarkLinesPerFrame(b *testing.B) {
	c := zonestest.NewConveyor(1, "belt", "", 0, zonestest.Segment{Frames: 600, Dir: 1})
	var st track.State
	var seen [][]zones.Object
	var open []map[uint64]bool
	for _, d := range c.Records {
		st.Step(track.Params{}, track.FrameOf(d))
		seen = append(seen, st.Seen())
		o := map[uint64]bool{}
		for _, id := range st.OpenIDs() {
			o[id] = true
		}
		open = append(open, o)
	}
	for _, n := range []int{1, 3, 16} {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			var lines []zones.Line
			for i := range n {
				x := float64(20 + 600*i/n)
				lines = append(lines, zones.Line{Name: fmt.Sprint(i), A: zones.Point{X: x}, B: zones.Point{X: x, Y: zonestest.Height}})
			}
			tallies := make([]zones.Tally, n)
			for i := 0; b.Loop(); i++ {
				k := i % len(seen)
				if k == 0 {
					for j := range tallies {
						tallies[j] = zones.Tally{}
					}
				}
				for j, l := range lines {
					l.Cross(tallies[j], seen[k])
					tallies[j].Keep(func(id uint64) bool { return open[k][id] })
				}
			}
		})
	}
}
