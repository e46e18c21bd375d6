package benchmarks

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/clickhouse"
	"github.com/cropstream/cropstream/sinks/clickhouse/chtest"
	"github.com/cropstream/cropstream/topology"
)

// BenchmarkSinkDetections: detection records already in Kafka (30 boxes a
// frame) go through the sink into a real ClickHouse; rows/s from the sink's
// start to the last row stored, against the same rows sent in one Native
// insert in the same run (raw-rows/s), and the ratio. Goal: 0.8.
func BenchmarkSinkDetections(b *testing.B) {
	benchSink(b, SinkBatch{})
}

// BenchmarkSinkBatch is BenchmarkSinkDetections at several batch sizes:
// what the sink's MaxRows default is chosen from.
func BenchmarkSinkBatch(b *testing.B) {
	for _, rows := range []int{25_000, 50_000, 100_000, 200_000, 400_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) { benchSink(b, SinkBatch{MaxRows: rows}) })
	}
}

// BenchmarkSinkBlockRows is BenchmarkSinkDetections at several sizes of
// the blocks an insert is sent in: what clickhouse.Config.BlockRows's
// default is chosen from.
func BenchmarkSinkBlockRows(b *testing.B) {
	for _, rows := range []int{2_048, 4_096, 8_192, 16_384, 32_768, 65_536, 1 << 30} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) { benchSink(b, SinkBatch{BlockRows: rows}) })
	}
}

func benchSink(b *testing.B, batch SinkBatch) {
	srv := chtest.Start(b)
	conn, _ := brokertest.Open(b, topology.Config{})
	b.ResetTimer()
	r, err := SinkStage(context.Background(), conn, srv.Addr(), srv.PID(), b.N, SinkBoxes, batch)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.RowsPerSec(), "rows/s")
	b.ReportMetric(r.RawRowsPerSec(), "raw-rows/s")
	b.ReportMetric(r.Ratio(), "ratio")
	b.ReportMetric(float64(r.Inserts), "inserts")
	b.ReportMetric(r.InsertMs, "ms/insert")
	b.ReportMetric(r.WaitMs, "ms-waiting-on-insert")
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(r.Rows) }
	b.ReportMetric(per(r.SinkCPU), "sink-cpu-µs/row")
	b.ReportMetric(per(r.SinkServerCPU), "server-cpu-µs/row")
	b.ReportMetric(per(r.RawCPU), "raw-client-cpu-µs/row")
	b.ReportMetric(per(r.RawServerCPU), "raw-server-cpu-µs/row")
}

// BenchmarkSinkLatency: frames' detections arrive at a steady rate (100
// frames/s, 30 boxes each); a reader polls ClickHouse every 20 ms and notes
// when each frame's rows become visible. Reports capture -> visible p50/p99.
func BenchmarkSinkLatency(b *testing.B) {
	srv := chtest.Start(b)
	conn, _ := brokertest.Open(b, topology.Config{})
	ctx := context.Background()
	st, err := clickhouse.Open(ctx, clickhouse.Config{Addr: []string{srv.Addr()}, Database: "lat"})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	sink, _ := sinks.New(sinks.Config{Store: st, Tables: []*sinks.Table{DetectionsTable()}}, conn)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sink.Run(sctx) }()
	defer func() { cancel(); <-done }()
	cl, _ := conn.Client()
	defer cl.Close()
	const rate, boxes = 100, 30
	n := max(b.N, 1000) // at least 10 s of steady load
	b.ResetTimer()
	go func() {
		t0 := time.Now()
		for i := 0; i < n; i++ {
			time.Sleep(time.Until(t0.Add(time.Duration(i) * time.Second / rate)))
			r := DetRecords(1, boxes, func(int) int64 { return time.Now().UnixNano() })[0]
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

// SinkStage stores every row both ways, measures both, and drops the
// databases it made (the server may be an operator's).
func TestSinkStage(t *testing.T) {
	srv := chtest.Start(t)
	conn, _ := brokertest.Open(t, topology.Config{})
	ctx := context.Background()
	r, err := SinkStage(ctx, conn, srv.Addr(), srv.PID(), 300, SinkBoxes, SinkBatch{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Rows != 300*SinkBoxes || r.Inserts < 1 || r.Elapsed <= 0 || r.Raw <= 0 || r.Ratio() <= 0 {
		t.Fatalf("measured %+v", r)
	}
	// The raw insert of so few rows may take less than a clock tick.
	if sink, _ := r.CPUMicrosPerRow(); sink <= 0 {
		t.Errorf("CPU per row of the sink: %.2f µs", sink)
	}
	st, err := clickhouse.Open(ctx, clickhouse.Config{Addr: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var left uint64
	if err := st.Conn().QueryRow(ctx, "SELECT count() FROM system.databases WHERE name LIKE 'bench_%'").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d bench databases left on the server", left)
	}
}
