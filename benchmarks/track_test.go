package benchmarks

import (
	"testing"

	"github.com/cropstream/cropstream/processors/track"
)

// BenchmarkTracker: the tracker alone, one camera, about 30 detections a
// frame; frames/s on one core. Goal (issue #5): 20,000.
func BenchmarkTracker(b *testing.B) {
	frames := TrackFrames(2000, 30)
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
