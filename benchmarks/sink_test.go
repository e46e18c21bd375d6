package benchmarks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/clickhouse/chtest"
	"github.com/cropstream/cropstream/stage/stagetest"
	"github.com/cropstream/cropstream/topology"
)

// detRecords makes n detections records of boxes boxes each, over 8 cameras.
func detRecords(n, boxes int, at func(i int) int64) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for i := range recs {
		cam := fmt.Sprintf("cam-%d", i%8)
		d := &schema.Detections{FrameId: fmt.Sprintf("%s-%d", cam, i), CameraId: cam, FieldId: "F", BlockId: "B1", RowId: "R1",
			CaptureUnixNs: at(i), Sequence: uint64(i / 8), Width: 1280, Height: 720, Model: "cropnet", ClassNames: []string{"apple"}}
		d.DetectedUnixNs = d.CaptureUnixNs
		for k := 0; k < boxes; k++ {
			x := rand.Float32() * 1200
			d.Detections = append(d.Detections, &schema.Detection{Box: &schema.Box{X1: x, Y1: x / 2, X2: x + 30, Y2: x/2 + 30}, Score: rand.Float32()})
		}
		v, _ := schema.Encode(d)
		recs[i] = &kgo.Record{Topic: string(topology.Detections), Key: []byte(cam), Value: v}
	}
	return recs
}

func detectionsOnly() []*sinks.Table {
	for _, t := range sinks.Tables() {
		if t.Topic == topology.Detections {
			return []*sinks.Table{t}
		}
	}
	return nil
}

// BenchmarkSinkDetections: detection records already in Kafka (30 boxes a
// frame) go through the sink into a real ClickHouse; rows/s from the sink's
// start to the last row stored. Goal: 400k rows/s.
func BenchmarkSinkDetections(b *testing.B) {
	srv := chtest.Start(b)
	conn, _ := brokertest.Open(b, topology.Config{})
	ctx := context.Background()
	const boxes = 30
	frames := b.N
	recs := detRecords(frames, boxes, func(int) int64 { return time.Now().UnixNano() })
	cl, _ := conn.Client()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
	cl.Close()
	st := srv.Open(b, "bench")
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	sink, err := sinks.New(sinks.Config{Store: st, Tables: detectionsOnly()}, conn)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	run := stagetest.Start(ctx, sink)
	for sink.Stats.Rows.Load() < int64(frames*boxes) {
		time.Sleep(5 * time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	run.Stop()
	rows := float64(frames * boxes)
	b.ReportMetric(rows/el.Seconds(), "rows/s")
	b.ReportMetric(float64(sink.Stats.Inserts.Load()), "inserts")
	b.ReportMetric(float64(sink.Stats.InsertNanos.Load())/1e6/float64(max(sink.Stats.Inserts.Load(), 1)), "ms/insert")
}

// BenchmarkSinkLatency: frames' detections arrive at a steady rate (100
// frames/s, 30 boxes each); a reader polls ClickHouse every 20 ms and notes
// when each frame's rows become visible. Reports capture -> visible p50/p99.
func BenchmarkSinkLatency(b *testing.B) {
	srv := chtest.Start(b)
	conn, _ := brokertest.Open(b, topology.Config{})
	ctx := context.Background()
	st := srv.Open(b, "lat")
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	sink, _ := sinks.New(sinks.Config{Store: st, Tables: detectionsOnly()}, conn)
	run := stagetest.Start(ctx, sink)
	defer run.Stop()
	cl, _ := conn.Client()
	defer cl.Close()
	const rate, boxes = 100, 30
	n := max(b.N, 1000) // at least 10 s of steady load
	b.ResetTimer()
	go func() {
		t0 := time.Now()
		for i := 0; i < n; i++ {
			time.Sleep(time.Until(t0.Add(time.Duration(i) * time.Second / rate)))
			r := detRecords(1, boxes, func(int) int64 { return time.Now().UnixNano() })[0]
			d, _ := schema.DecodeDetections(r.Value)
			d.FrameId, d.Sequence = fmt.Sprintf("f-%d", i), uint64(i)
			r.Value, _ = schema.Encode(d)
			cl.Produce(ctx, r, nil)
		}
	}()
	var lat []float64
	var seen int64 = -1
	for len(lat) < n {
		time.Sleep(20 * time.Millisecond)
		rows, err := st.Conn().Query(ctx, "SELECT sequence, capture_unix_ns FROM lat.detections WHERE box_index = 0 AND sequence > ?", seen)
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now().UnixNano()
		for rows.Next() {
			var seq uint64
			var at int64
			rows.Scan(&seq, &at)
			lat = append(lat, float64(now-at)/1e6)
			seen = max(seen, int64(seq))
		}
		rows.Close()
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2], "p50-ms")
	b.ReportMetric(lat[len(lat)*99/100], "p99-ms")
}
