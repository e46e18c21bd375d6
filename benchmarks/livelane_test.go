package benchmarks

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/topology"
)

// BenchmarkLiveLane: live cameras at 10 frames/s each through the detect
// stage (the shipped model, one-thread sessions, one per core), alone and
// beside recorded video that keeps the stage saturated (whole-batches: live
// frames wait for the backfill batch in hand, not for a slice of it). It
// runs a fixed 3 s warm-up and 20 s window per case, whatever b.N:
//
//	go test -run xxx -bench LiveLane -benchtime 1x ./benchmarks
func BenchmarkLiveLane(b *testing.B) {
	jpgs := simJPEGs(b, 32)
	for _, c := range []struct {
		live     int
		backfill bool
		slice    time.Duration // detect.Config.LiveSlice; 0: its default
	}{{0, true, 0}, {1, false, 0}, {1, true, 0}, {1, true, -1}, {2, true, 0}, {4, true, 0}} {
		name := fmt.Sprintf("live=%d/backfill=%v", c.live, c.backfill)
		if c.slice < 0 {
			name += "/whole-batches"
		}
		b.Run(name, func(b *testing.B) {
			conn, top := brokertest.Open(b, topology.Config{})
			eng, err := inference.New(inference.Config{ModelPath: shippedModel(), Sessions: runtime.NumCPU()})
			if err != nil {
				b.Fatal(err)
			}
			defer eng.Close()
			r, err := LiveLane(context.Background(), conn, top, jpgs, LaneConfig{LiveCameras: c.live, Backfill: c.backfill, Detect: detect.Config{Detector: eng, LiveSlice: c.slice}})
			if err != nil {
				b.Fatal(err)
			}
			b.Log(r)
			b.ReportMetric(r.P50Ms, "p50_ms")
			b.ReportMetric(r.P95Ms, "p95_ms")
			b.ReportMetric(r.P99Ms, "p99_ms")
			b.ReportMetric(r.LiveFPS, "live_frames/s")
			b.ReportMetric(r.BackfillFPS, "backfill_frames/s")
			b.ReportMetric(r.LiveFPS+r.BackfillFPS, "stage_frames/s")
		})
	}
}
