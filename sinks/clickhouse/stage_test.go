package clickhouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/clickhouse/chtest"
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
	next, err := st.Stage(ctx, tb, block(50, 70))
	if err != nil {
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
	if n, _ := stored(); n != 80 {
		t.Fatalf("after Send: %d rows, want 80", n)
	}
}
