package benchmarks

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// BenchmarkTrackStage: detections records of 8 cameras (about 30 boxes a
// frame, a camera moving along a row) already in the embedded broker go
// through the track stage (goka: decode, the camera's tracker state from the
// table, step, emit objects, state back to the table); frames/s.
func BenchmarkTrackStage(b *testing.B) {
	conn, _ := brokertest.Open(b, topology.Config{})
	ctx := context.Background()
	cl, err := conn.Client(kgo.ProducerLinger(5 * time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	const cameras = 8
	frames := TrackFrames(max(b.N/cameras, 1), 30)
	var recs []*kgo.Record
	for c := 0; c < cameras; c++ {
		cam := fmt.Sprintf("cam-%d", c)
		for _, f := range frames {
			d := &schema.Detections{FrameId: fmt.Sprintf("%s-%d", cam, f.Seq), CameraId: cam, FieldId: "F1", BlockId: "B1", RowId: f.RowID,
				Sequence: f.Seq, CaptureUnixNs: int64(f.Seq) * 1e8, PositionM: f.PositionM, Width: uint32(f.Width), Height: 720, Model: "bench"}
			for _, x := range f.Dets {
				d.Detections = append(d.Detections, &schema.Detection{ClassId: uint32(x.Class), Score: float32(x.Score),
					Box: &schema.Box{X1: float32(x.X1), Y1: float32(x.Y1), X2: float32(x.X2), Y2: float32(x.Y2)}})
			}
			val, err := schema.Encode(d)
			if err != nil {
				b.Fatal(err)
			}
			recs = append(recs, &kgo.Record{Topic: string(topology.Detections), Key: []byte(cam), Value: val})
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
	cl.Close()
	p := track.New(track.Config{}, conn)
	rctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	b.ResetTimer()
	start := time.Now()
	go func() { done <- p.Run(rctx) }()
	total := int64(len(recs))
	for p.Stats.Frames.Load() < total && rctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	if got := p.Stats.Frames.Load(); got != total {
		b.Fatalf("applied %d of %d frames", got, total)
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "frames/s")
	b.ReportMetric(float64(p.Stats.Objects.Load())/float64(total), "objects/frame")
}
