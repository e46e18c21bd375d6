package clickhouse_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/clickhouse/chtest"
	"github.com/cropstream/cropstream/topology"
)

// A staged insert stores nothing until Send, and nothing after Abort, while
// another insert goes on beside it: what lets the sink stage the next batch
// while the previous one is in flight without moving the stored offsets.
func TestStagedInsert(t *testing.T) {
	st := chtest.Migrated(t, "staged")
	ctx := context.Background()
	tb := sinks.TableNamed("model_quality")
	block := func(from, n int) *sinks.Block {
		rows := sinks.NewBlock(tb)
		start := time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC).UnixNano()
		for i := from; i < from+n; i++ {
			at := start + int64(i)*int64(time.Minute)
			v, err := schema.Encode(&schema.ModelQuality{CameraId: "cam-a", ModelId: "m@1", WindowStartUnixNs: at, WindowEndUnixNs: at + int64(time.Minute), Frames: 1, EmittedUnixNs: at})
			if err != nil {
				t.Fatal(err)
			}
			if err := tb.Decode(rows, v, 0, int64(i)); err != nil {
				t.Fatal(err)
			}
		}
		return rows
	}
	stored := func() (n uint64, maxOff int64) {
		t.Helper()
		if err := st.Conn().QueryRow(ctx, "SELECT count(), max(kafka_offset) FROM staged.model_quality").Scan(&n, &maxOff); err != nil {
			t.Fatal(err)
		}
		return n, maxOff
	}
	aborted, err := st.Stage(ctx, tb, block(0, 50))
	if err != nil {
		t.Fatal(err)
	}
	grown := block(50, 70)
	next, err := st.Stage(ctx, tb, grown)
	if err != nil {
		t.Fatal(err)
	}
	// The batch grows while staged: the new rows are staged too.
	grown.AppendFrom(block(120, 30), 0, 30)
	if err := next.Add(70, 100); err != nil {
		t.Fatal(err)
	}
	if n, _ := stored(); n != 0 {
		t.Fatalf("%d rows stored by staging alone, want 0", n)
	}
	if err := st.Insert(ctx, tb, block(200, 10)); err != nil {
		t.Fatal(err)
	}
	aborted.Abort()
	if n, off := stored(); n != 10 || off != 209 {
		t.Fatalf("after an insert beside two staged and an abort: %d rows up to offset %d, want 10 up to 209", n, off)
	}
	if err := next.Send(); err != nil {
		t.Fatal(err)
	}
	if n, off := stored(); n != 110 || off != 209 {
		t.Fatalf("after Send: %d rows up to offset %d, want 110 up to 209", n, off)
	}
}

// Into ClickHouse, batches that grow while an insert is in flight (staged
// as they grow) store each row of each record exactly once.
func TestSinkStagesGrowingBatches(t *testing.T) {
	srv := chtest.Start(t)
	conn, _ := brokertest.Open(t, topology.Config{})
	ctx := context.Background()
	st := srv.Open(t, "grow")
	const frames, boxes = 2000, 5
	var recs []*kgo.Record
	for i := range frames {
		d := &schema.Detections{FrameId: fmt.Sprint(i), CameraId: fmt.Sprintf("cam-%d", i%4), Sequence: uint64(i), CaptureUnixNs: time.Now().UnixNano()}
		for range boxes {
			d.Detections = append(d.Detections, &schema.Detection{Box: &schema.Box{X2: 1, Y2: 1}})
		}
		v, err := schema.Encode(d)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: string(topology.Detections), Key: []byte(d.CameraId), Value: v})
	}
	brokertest.Produce(t, conn, recs...)
	const maxRows = 250
	sink := startSink(t, conn, sinks.Config{Store: st, Tables: []*sinks.Table{sinks.TableNamed("detections")}, MaxRows: maxRows, MaxRowsBehind: 8 * maxRows})
	if err := sinkDrained(conn, time.Minute); err != nil {
		t.Fatal(err)
	}
	var rows, distinct uint64
	if err := st.Conn().QueryRow(ctx, "SELECT count(), uniqExact(kafka_partition, kafka_offset, box_index) FROM grow.detections").Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != frames*boxes || distinct != rows {
		t.Fatalf("%d rows, %d distinct, want %d once each", rows, distinct, frames*boxes)
	}
	t.Logf("%d inserts of %d rows at MaxRows %d", sink.Stats.Inserts.Load(), frames*boxes, maxRows)
}
