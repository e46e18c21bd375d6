package benchmarks

import (
	"math/rand/v2"
	"testing"

	"github.com/cropstream/cropstream/processors/track"
)

// trackFrames makes n frames of a camera moving along a row at 12 px a
// frame past a field of fruit, with about dets detections in view per
// frame (jittered boxes, scores 0.3-1).
func trackFrames(n, dets int) []track.Frame {
	rng := rand.New(rand.NewPCG(1, 2))
	const width, height, step = 1280, 720, 12.0
	// Fruit density so that a 1280 px window holds about dets of them.
	total := int(float64(dets) * (float64(n)*step + width) / width)
	xs, ys := make([]float64, total), make([]float64, total)
	for i := range xs {
		xs[i], ys[i] = rng.Float64()*(float64(n)*step+width), rng.Float64()*(height-40)
	}
	frames := make([]track.Frame, n)
	for f := range frames {
		cam := float64(f) * step
		pos := cam / 100
		fr := track.Frame{Seq: uint64(f + 1), RowID: "R1", Width: width, PositionM: &pos}
		for i := range xs {
			x := xs[i] - cam
			if x < 0 || x > width-30 {
				continue
			}
			j := rng.NormFloat64()
			fr.Dets = append(fr.Dets, track.Det{X1: x + j, Y1: ys[i] + j, X2: x + 30 + j, Y2: ys[i] + 30, Score: 0.3 + 0.7*rng.Float64()})
		}
		frames[f] = fr
	}
	return frames
}

// BenchmarkTracker: the tracker alone, one camera, about 30 detections a
// frame; frames/s on one core. Goal (issue #5): 20,000.
func BenchmarkTracker(b *testing.B) {
	frames := trackFrames(2000, 30)
	dets := 0
	for _, f := range frames {
		dets += len(f.Dets)
	}
	b.ResetTimer()
	var st *track.State
	counted := 0
	for i := 0; i < b.N; i++ {
		if i%len(frames) == 0 {
			st = &track.State{}
		}
		c, _ := st.Step(track.Params{}, frames[i%len(frames)])
		counted += len(c)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	b.ReportMetric(float64(dets)/float64(len(frames)), "dets/frame")
}
