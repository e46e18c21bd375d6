package clickhouse_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/clickhouse"
	"github.com/cropstream/cropstream/sinks/clickhouse/chtest"
	"github.com/cropstream/cropstream/topology"
)

// An insert sent as blocks of about BlockRows rows, cut between records,
// stores every row once (the server squashes the blocks into one part).
func TestInsertInBlocks(t *testing.T) {
	srv := chtest.Start(t)
	ctx := context.Background()
	st, err := clickhouse.Open(ctx, clickhouse.Config{Addr: []string{srv.Addr()}, Database: "blocks", BlockRows: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tb := sinks.TableNamed("detections")
	const frames, boxes = 20, 3
	rows := sinks.NewBlock(tb)
	for i := range frames {
		v := detections(t, i, boxes)
		if err := tb.Decode(rows, v, 0, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Insert(ctx, tb, rows); err != nil {
		t.Fatal(err)
	}
	if ends := rows.Parts(7); len(ends) != 7 {
		t.Fatalf("blocks of 7 rows cut between records of 3 end at %v, want 7 blocks of 9 rows, the last of 6", ends)
	}
	var n, distinct uint64
	if err := st.Conn().QueryRow(ctx, "SELECT count(), uniqExact(kafka_offset, box_index) FROM blocks.detections").Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != frames*boxes || distinct != n {
		t.Fatalf("%d rows (%d distinct), want %d once each", n, distinct, frames*boxes)
	}
}

func detections(t *testing.T, i, boxes int) []byte {
	t.Helper()
	d := &schema.Detections{FrameId: fmt.Sprint(i), CameraId: fmt.Sprintf("cam-%d", i%4), Sequence: uint64(i), CaptureUnixNs: time.Now().UnixNano()}
	for range boxes {
		d.Detections = append(d.Detections, &schema.Detection{Box: &schema.Box{X2: 1, Y2: 1}})
	}
	v, err := schema.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// failing stores part of an insert and then fails it, as a cut connection
// does (the first records only) or a lost answer (all of them).
type failing struct {
	*clickhouse.Store
	// fail[k] is how many of the rows' Parts(blockRows) insert k stores
	// before it fails (-1: all, and fails anyway); past the list inserts
	// go through.
	fail      []int
	blockRows int
	calls     int
}

func (f *failing) Insert(ctx context.Context, t *sinks.Table, rows *sinks.Block) error {
	k := f.calls
	f.calls++
	if k >= len(f.fail) {
		return f.Store.Insert(ctx, t, rows)
	}
	ends := rows.Parts(f.blockRows)
	keep := rows.Len()
	if p := f.fail[k]; p >= 0 {
		keep = 0
		if p > 0 {
			keep = ends[min(p, len(ends))-1]
		}
	}
	part := sinks.NewBlock(t)
	part.AppendFrom(rows, 0, keep)
	if keep > 0 {
		if err := f.Store.Insert(ctx, t, part); err != nil {
			return err
		}
	}
	return fmt.Errorf("insert %d: connection cut after %d of %d rows", k, keep, rows.Len())
}

// An insert that failed after storing some records, or all of them, is
// retried with only the rest: every row is stored exactly once.
func TestSinkRetriesOnlyWhatIsNotStored(t *testing.T) {
	srv := chtest.Start(t)
	conn, _ := brokertest.Open(t, topology.Config{})
	st := srv.Open(t, "retry")
	const frames, boxes = 300, 4
	produceDetections(t, conn, frames, boxes, 1)
	store := &failing{Store: st, fail: []int{2, -1, 0}, blockRows: 50}
	sink := startSink(t, conn, sinks.Config{Store: store, Tables: []*sinks.Table{sinks.TableNamed("detections")},
		MaxRows: 400, RetryMin: time.Millisecond, RetryMax: 10 * time.Millisecond})
	if err := sinkDrained(conn, time.Minute); err != nil {
		t.Fatal(err)
	}
	storedOnce(t, st, "retry", frames*boxes)
	if r := sink.Stats.Retries.Load(); r < 3 {
		t.Fatalf("%d retries, want the 3 failed inserts retried", r)
	}
}

// Into ClickHouse, batches that grow while an insert is in flight store
// each row of each record exactly once.
func TestSinkGrowingBatches(t *testing.T) {
	srv := chtest.Start(t)
	conn, _ := brokertest.Open(t, topology.Config{})
	st := srv.Open(t, "grow")
	const frames, boxes = 2000, 5
	produceDetections(t, conn, frames, boxes, 4)
	const maxRows = 250
	sink := startSink(t, conn, sinks.Config{Store: st, Tables: []*sinks.Table{sinks.TableNamed("detections")}, MaxRows: maxRows, MaxRowsBehind: 8 * maxRows})
	if err := sinkDrained(conn, time.Minute); err != nil {
		t.Fatal(err)
	}
	storedOnce(t, st, "grow", frames*boxes)
	t.Logf("%d inserts of %d rows at MaxRows %d", sink.Stats.Inserts.Load(), frames*boxes, maxRows)
}

// produceDetections produces frames detections records of boxes boxes each,
// of cameras cameras in turn.
func produceDetections(t *testing.T, conn *broker.Conn, frames, boxes, cameras int) {
	t.Helper()
	var recs []*kgo.Record
	for i := range frames {
		recs = append(recs, &kgo.Record{Topic: string(topology.Detections), Key: []byte(fmt.Sprintf("cam-%d", i%cameras)), Value: detections(t, i, boxes)})
	}
	brokertest.Produce(t, conn, recs...)
}

// storedOnce checks db's detections table holds want rows, each once.
func storedOnce(t *testing.T, st *clickhouse.Store, db string, want int) {
	t.Helper()
	var rows, distinct uint64
	if err := st.Conn().QueryRow(context.Background(), "SELECT count(), uniqExact(kafka_partition, kafka_offset, box_index) FROM "+db+".detections").Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != uint64(want) || distinct != rows {
		t.Fatalf("%d rows, %d distinct, want %d once each", rows, distinct, want)
	}
}
