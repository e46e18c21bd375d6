package benchmarks

import (
	"context"
	"testing"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/topology"
)

// BenchmarkTrackStage: detections records of 8 cameras (about 30 boxes a
// frame, a camera moving along a row) already in the embedded broker go
// through the track stage (goka: decode, the camera's tracker state from the
// table, step, emit objects, state back to the table); frames/s.
func BenchmarkTrackStage(b *testing.B) {
	conn, top := brokertest.Open(b, topology.Config{})
	b.ResetTimer()
	cpu0 := processCPU()
	r, err := TrackStage(context.Background(), conn, top, 8, max(b.N, 8))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.FPS(), "frames/s")
	b.ReportMetric(float64(max(b.N, 8))/(processCPU()-cpu0).Seconds(), "frames/cpu-s")
}
