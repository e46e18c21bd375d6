// Package sinktest makes record streams for every analytics table and reads
// back what a store holds, for the sink's tests.
package sinktest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/topology"
)

// Stream makes records for every table: two cameras, one of each lane,
// whose frames cross midnight (so batches split by day), detections with 0-4 boxes, objects
// and line crossings each with one upstream duplicate at a new offset,
// yields, a dead letter, and
// one undecodable detections record.
func Stream(seed uint64, frames int) []*kgo.Record {
	rng := rand.New(rand.NewPCG(seed, seed))
	var recs []*kgo.Record
	midnight := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	add := func(topic topology.Topic, key string, m schema.Message) {
		v, err := schema.Encode(m)
		if err != nil {
			panic(err)
		}
		recs = append(recs, &kgo.Record{Topic: string(topic), Key: []byte(key), Value: v})
	}
	for _, cam := range []string{"cam-1", "cam-2"} {
		lane := topology.Backfill
		if cam == "cam-2" {
			lane = topology.Live
		}
		for i := 0; i < frames; i++ {
			at := midnight + int64(i-frames/2)*int64(100*time.Millisecond)
			pos := float64(i) * 0.1
			fid := fmt.Sprintf("%s-%06d", cam, i)
			add(topology.FramesOf(lane), cam, &schema.Frame{FrameId: fid, CameraId: cam, FieldId: "F", BlockId: "B1", RowId: "R1",
				CaptureUnixNs: at, Sequence: uint64(i), PositionM: &pos, Width: 64, Height: 32, Encoding: schema.Encoding_ENCODING_JPEG, Image: []byte{0xff, 0xd8, 0xff, 0xd9}})
			d := &schema.Detections{FrameId: fid, CameraId: cam, FieldId: "F", BlockId: "B1", RowId: "R1", CaptureUnixNs: at,
				Sequence: uint64(i), Width: 64, Height: 32, Model: "m", ClassNames: []string{"apple"}, DetectedUnixNs: at + 1e6}
			for k := rng.IntN(5); k > 0; k-- {
				d.Detections = append(d.Detections, &schema.Detection{Box: &schema.Box{X1: 1, Y1: 2, X2: 3, Y2: 4}, Score: rng.Float32()})
			}
			add(topology.Detections, cam, d)
			if i%7 == 3 {
				o := &schema.CountedObject{ObjectId: fmt.Sprintf("%s-%d", cam, i), CameraId: cam, FieldId: "F", BlockId: "B1", RowId: "R1",
					ClassName: "apple", FirstSequence: uint64(i - 3), LastSequence: uint64(i), FirstSeenUnixNs: at, LastSeenUnixNs: at, FramesSeen: 4,
					BestBox: &schema.Box{X1: 1, Y1: 1, X2: 5, Y2: 5}, BestScore: 0.9}
				add(topology.Objects, "B1", o)
				if i == 3 && cam == "cam-1" {
					add(topology.Objects, "B1", o) // an upstream replay
				}
			}
			if i%11 == 5 {
				c := &schema.LineCrossing{CrossingId: fmt.Sprintf("%s-%d/belt/in", cam, i), CameraId: cam, Line: "belt", Direction: schema.DirectionIn,
					ObjectId: fmt.Sprintf("%s-%d", cam, i), ClassName: "apple", Sequence: uint64(i), CaptureUnixNs: at, X: 32, Y: 16}
				add(topology.LineCrossings, cam, c)
				if i == 5 && cam == "cam-2" {
					add(topology.LineCrossings, cam, c) // an upstream replay
				}
			}
		}
	}
	recs = append(recs, &kgo.Record{Topic: string(topology.Detections), Key: []byte("cam-1"), Value: []byte{0x08, 0x01, 0x12}})
	add(topology.Yield, "B1", &schema.YieldEstimate{EstimateId: "B1-w1", FieldId: "F", BlockId: "B1", Crop: "apple",
		WindowStartUnixNs: midnight, WindowEndUnixNs: midnight + 1e9, UnitsCounted: 10, VisibilityFactor: 0.8, UnitsEstimated: 12.5,
		YieldKg: 2.2, YieldKgLow: 2, YieldKgHigh: 2.4, Confidence: 0.95, Final: true, EmittedUnixNs: midnight + 2e9})
	add(topology.DLQ, "x", schema.NewDeadLetter("detect", "corrupt JPEG", "frames", 0, 5, []byte("cam-1"), []byte("junk"), 1024))
	return recs
}

// Want is what the tables must hold: rows per table made from the records
// (read back from Kafka, so partitions and offsets are real).
func Want(t testing.TB, conn *broker.Conn) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tb := range sinks.Tables() {
		recs, err := broker.ReadAll(context.Background(), conn, tb.Topic, 500*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			// An undecodable record has no rows; the sink's dead letter
			// for it is in the dlq topic, read here like the others.
			rows, _ := tb.Rows(r.Value, r.Partition, r.Offset)
			ok := true
			for _, row := range rows {
				// A record with a row the store cannot hold is dead-lettered whole.
				ok = ok && tb.CheckRow(row) == nil
			}
			if ok {
				out[tb.Name] += len(rows)
			}
		}
	}
	return out
}

// Counts reads, per table, its rows and its distinct source records.
func Counts(t testing.TB, conn driver.Conn, db string) (map[string]int, map[string]int) {
	t.Helper()
	all, distinct := map[string]int{}, map[string]int{}
	for _, tb := range sinks.Tables() {
		var n, d uint64
		q := fmt.Sprintf("SELECT count(), uniqExact(kafka_partition, kafka_offset, %s) FROM %s.%s", tb.Columns[0].Name, db, tb.Name)
		if tb.Name == "detections" {
			q = fmt.Sprintf("SELECT count(), uniqExact(kafka_partition, kafka_offset, box_index) FROM %s.%s", db, tb.Name)
		}
		if err := conn.QueryRow(context.Background(), q).Scan(&n, &d); err != nil {
			t.Fatal(err)
		}
		all[tb.Name], distinct[tb.Name] = int(n), int(d)
	}
	return all, distinct
}

// Block makes a block of tb from rows given value by value, failing the
// test on a value of the wrong type.
func Block(t testing.TB, tb *sinks.Table, rows ...sinks.Row) *sinks.Block {
	t.Helper()
	b, err := sinks.BlockOf(tb, rows...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
