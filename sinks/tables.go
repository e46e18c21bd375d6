package sinks

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// Column is one column of an analytics table, with its ClickHouse type. The
// types are the ones ClickHouse 18.16 and current releases both accept.
type Column struct {
	Name string
	Type string
	Doc  string
}

// Row is one row's values in the table's column order. Values are Go types
// the ClickHouse driver maps directly: string, uint8..uint64, int32, int64,
// float32, float64, *float64 (Nullable), time.Time (DateTime).
type Row []any

// Table is an analytics table fed from one topic.
type Table struct {
	Name  string
	Topic topology.Topic
	Doc   string
	// Columns, in insert order. The last two are always kafka_partition and
	// kafka_offset: the sink's exactly-once bookkeeping.
	Columns []Column
	// OrderBy is the sorting (and ReplacingMergeTree dedup) key: the
	// record's natural id, so an upstream replay that re-emits a record at a
	// new offset collapses to one row in FINAL queries.
	OrderBy string
	// PartitionBy is a UTC day of the record's own time (UTC whatever the
	// server's time zone, so it agrees with Day); retention drops days.
	PartitionBy string
	// Replacing tables dedup on OrderBy; append-only tables keep every row.
	Replacing bool
	// Rows turns one record into zero or more rows.
	Rows func(value []byte, partition int32, offset int64) ([]Row, error)
	// Day is the partition key of a row, so a flush never spans two
	// ClickHouse partitions (an insert is atomic only within one).
	Day func(r Row) uint32
}

// Source columns close every table.
var sourceColumns = []Column{
	{"kafka_partition", "Int32", "partition of the source record in Kafka"},
	{"kafka_offset", "Int64", "offset of the source record; (partition, offset) makes inserts exactly-once"},
}

// Index of a column by name; panics on a wrong name (a programming error).
func (t *Table) Index(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	panic(fmt.Sprintf("sinks: table %s has no column %s", t.Name, name))
}

// MinDateTime and MaxDateTime bound what a ClickHouse DateTime column holds
// (and what clickhouse-go accepts: it refuses the whole block otherwise). A
// row with a time outside them is refused by CheckRow, so one wrong camera
// clock never blocks a table.
var (
	MinDateTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxDateTime = time.Date(2105, 12, 31, 23, 59, 59, 0, time.UTC)
)

// ErrTimeOutOfRange is returned by CheckRow for a time ClickHouse cannot store.
var ErrTimeOutOfRange = errors.New("time outside what ClickHouse DateTime holds (1970-01-01 00:00:00 to 2105-12-31 23:59:59 UTC)")

// CheckRow reports a row the store cannot hold: a DateTime column out of
// range. The error names the column and the value.
func (t *Table) CheckRow(r Row) error {
	for i, c := range t.Columns {
		if c.Type != "DateTime" {
			continue
		}
		v, ok := r[i].(time.Time)
		if !ok {
			return fmt.Errorf("%s: column %s is %T, want time.Time", t.Name, c.Name, r[i])
		}
		if v.Before(MinDateTime) || v.After(MaxDateTime) {
			return fmt.Errorf("%s: column %s is %s: %w", t.Name, c.Name, v.UTC().Format(time.RFC3339), ErrTimeOutOfRange)
		}
	}
	return nil
}

func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC().Truncate(time.Second) }

func dayOf(t time.Time) uint32 {
	y, m, d := t.UTC().Date()
	return uint32(y*10000 + int(m)*100 + d)
}

func optional(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func dayAt(col int) func(Row) uint32 {
	return func(r Row) uint32 { return dayOf(r[col].(time.Time)) }
}

// Tables are the analytics tables, one per topic the sink reads.
func Tables() []*Table {
	frames := &Table{
		Name: "frames", Topic: topology.Frames, Replacing: true,
		Doc: "one row per frame ingested (metadata only; the image stays in Kafka)",
		Columns: append([]Column{
			{"frame_id", "String", "deterministic frame id (camera + sequence)"},
			{"camera_id", "String", "camera that took the frame"},
			{"field_id", "String", "field"},
			{"block_id", "String", "block within the field"},
			{"row_id", "String", "row within the block"},
			{"sequence", "UInt64", "frame number within the camera's stream"},
			{"captured_at", "DateTime", "capture time (UTC, seconds)"},
			{"capture_unix_ns", "Int64", "capture time, nanoseconds since the epoch"},
			{"position_m", "Nullable(Float64)", "camera position along the row in metres, when known"},
			{"width", "UInt32", "frame width in pixels"},
			{"height", "UInt32", "frame height in pixels"},
			{"image_bytes", "UInt32", "size of the encoded image"},
			{"source", "String", "where the frame came from (file, URL, scenario)"},
		}, sourceColumns...),
		OrderBy: "(camera_id, sequence, frame_id)", PartitionBy: "toYYYYMMDD(captured_at, 'UTC')",
		Rows: func(v []byte, p int32, o int64) ([]Row, error) {
			f, err := schema.DecodeFrame(v)
			if err != nil {
				return nil, err
			}
			if f.EndOfStream {
				return nil, nil // a marker, not a frame
			}
			return []Row{{f.FrameId, f.CameraId, f.FieldId, f.BlockId, f.RowId, f.Sequence,
				unixTime(f.CaptureUnixNs), f.CaptureUnixNs, optional(f.PositionM), f.Width, f.Height,
				uint32(len(f.Image)), f.Source, p, o}}, nil
		},
	}
	frames.Day = dayAt(frames.Index("captured_at"))
	// Live frames get a table of their own, with the same columns: the
	// exactly-once bookkeeping is by partition and offset, which only one
	// topic's records can share.
	live := *frames
	live.Name, live.Topic = "frames_live", topology.FramesLive
	live.Doc = "one row per frame of a live camera (the live lane; the frames table holds the backfill lane's), metadata only"

	dets := &Table{
		Name: "detections", Topic: topology.Detections, Replacing: true,
		Doc: "one row per box the detector found (frames with no box have no rows here)",
		Columns: append([]Column{
			{"frame_id", "String", "frame the box is in"},
			{"camera_id", "String", "camera"},
			{"field_id", "String", "field"},
			{"block_id", "String", "block"},
			{"row_id", "String", "row"},
			{"sequence", "UInt64", "frame number within the camera's stream"},
			{"captured_at", "DateTime", "capture time of the frame (UTC)"},
			{"capture_unix_ns", "Int64", "capture time, nanoseconds"},
			{"detected_unix_ns", "Int64", "when the detector finished the frame, nanoseconds"},
			{"position_m", "Nullable(Float64)", "camera position along the row in metres"},
			{"model", "String", "detector model name"},
			{"box_index", "UInt16", "index of the box within the frame"},
			{"class_id", "UInt16", "class index in the model"},
			{"class_name", "String", "class name (apple, citrus, grape_cluster, ...)"},
			{"score", "Float32", "detector confidence 0..1"},
			{"x1", "Float32", "box left, frame pixels"},
			{"y1", "Float32", "box top, frame pixels"},
			{"x2", "Float32", "box right, frame pixels"},
			{"y2", "Float32", "box bottom, frame pixels"},
			{"model_id", "String", "model that found the box: name@version+sha256:<12 hex>"},
		}, sourceColumns...),
		OrderBy: "(camera_id, sequence, frame_id, box_index)", PartitionBy: "toYYYYMMDD(captured_at, 'UTC')",
		Rows: func(v []byte, p int32, o int64) ([]Row, error) {
			d, err := schema.DecodeDetections(v)
			if err != nil {
				return nil, err
			}
			at := unixTime(d.CaptureUnixNs)
			rows := make([]Row, 0, len(d.Detections))
			for i, b := range d.Detections {
				name := ""
				if int(b.ClassId) < len(d.ClassNames) {
					name = d.ClassNames[b.ClassId]
				}
				bx := b.GetBox()
				rows = append(rows, Row{d.FrameId, d.CameraId, d.FieldId, d.BlockId, d.RowId, d.Sequence,
					at, d.CaptureUnixNs, d.DetectedUnixNs, optional(d.PositionM), d.Model, uint16(i),
					uint16(b.ClassId), name, b.Score, bx.GetX1(), bx.GetY1(), bx.GetX2(), bx.GetY2(), d.ModelId, p, o})
			}
			return rows, nil
		},
	}
	dets.Day = dayAt(dets.Index("captured_at"))

	objects := &Table{
		Name: "objects", Topic: topology.Objects, Replacing: true,
		Doc: "one row per counted physical object (fruit or cluster), each counted once",
		Columns: append([]Column{
			{"object_id", "String", "camera + stream + track id; unique per physical object"},
			{"camera_id", "String", "camera that saw it"},
			{"field_id", "String", "field"},
			{"block_id", "String", "block"},
			{"row_id", "String", "row"},
			{"plant_id", "String", "plant it hangs on (empty when unknown)"},
			{"class_id", "UInt16", "class index"},
			{"class_name", "String", "class name"},
			{"first_sequence", "UInt64", "first frame it was seen in"},
			{"last_sequence", "UInt64", "last frame it was seen in"},
			{"first_seen", "DateTime", "capture time of its first frame (UTC)"},
			{"first_seen_unix_ns", "Int64", "same, nanoseconds"},
			{"last_seen_unix_ns", "Int64", "capture time of its last frame, nanoseconds"},
			{"frames_seen", "UInt32", "frames it was detected in"},
			{"best_score", "Float32", "highest detector score along its track"},
			{"x1", "Float32", "best box left, frame pixels"},
			{"y1", "Float32", "best box top"},
			{"x2", "Float32", "best box right"},
			{"y2", "Float32", "best box bottom"},
			{"position_m", "Nullable(Float64)", "position along the row in metres"},
			{"model_id", "String", "model whose boxes made its track; mixed:<ids> when a switch fell inside it"},
		}, sourceColumns...),
		OrderBy: "(block_id, object_id)", PartitionBy: "toYYYYMMDD(first_seen, 'UTC')",
		Rows: func(v []byte, p int32, o int64) ([]Row, error) {
			c, err := schema.DecodeCountedObject(v)
			if err != nil {
				return nil, err
			}
			if c.Control != "" {
				return nil, nil // window markers are not objects
			}
			bx := c.GetBestBox()
			return []Row{{c.ObjectId, c.CameraId, c.FieldId, c.BlockId, c.RowId, c.PlantId, uint16(c.ClassId),
				c.ClassName, c.FirstSequence, c.LastSequence, unixTime(c.FirstSeenUnixNs), c.FirstSeenUnixNs,
				c.LastSeenUnixNs, c.FramesSeen, c.BestScore, bx.GetX1(), bx.GetY1(), bx.GetX2(), bx.GetY2(),
				optional(c.PositionM), c.ModelId, p, o}}, nil
		},
	}
	objects.Day = dayAt(objects.Index("first_seen"))

	yields := &Table{
		Name: "yield_estimates", Topic: topology.Yield, Replacing: true,
		Doc: "yield estimates per block and window, with their confidence interval",
		Columns: append([]Column{
			{"estimate_id", "String", "block + window; unique per estimate"},
			{"field_id", "String", "field"},
			{"block_id", "String", "block"},
			{"crop", "String", "crop profile (apple, citrus, grape)"},
			{"window_start", "DateTime", "first capture in the window (UTC)"},
			{"window_end", "DateTime", "last capture in the window (UTC)"},
			{"units_counted", "UInt64", "objects counted (each once)"},
			{"visibility_factor", "Float64", "counted / true units, from the hand-counted sample plants (1 when uncalibrated)"},
			{"units_estimated", "Float64", "units on the block after the visibility correction"},
			{"yield_kg", "Float64", "estimated yield, kg"},
			{"yield_kg_low", "Float64", "lower end of the confidence interval, kg"},
			{"yield_kg_high", "Float64", "upper end of the confidence interval, kg"},
			{"confidence", "Float64", "confidence level of the interval (0.95)"},
			{"final", "UInt8", "1 when the window closed (every row passed, or yield close); 0 for a provisional estimate while passes run"},
			{"emitted_at", "DateTime", "when the estimate was made (UTC)"},
			{"emitted_unix_ns", "UInt64", "same, nanoseconds; the latest estimate of a block wins"},
			{"model_id", "String", "model the counted units came from; 'mixed' when more than one"},
			{"model_units", "String", "units per model, id=units joined by ',' (several only when mixed)"},
		}, sourceColumns...),
		OrderBy: "(block_id, estimate_id)", PartitionBy: "toYYYYMMDD(emitted_at, 'UTC')",
		Rows: func(v []byte, p int32, o int64) ([]Row, error) {
			y, err := schema.DecodeYieldEstimate(v)
			if err != nil {
				return nil, err
			}
			var final uint8
			if y.Final {
				final = 1
			}
			return []Row{{y.EstimateId, y.FieldId, y.BlockId, y.Crop, unixTime(y.WindowStartUnixNs),
				unixTime(y.WindowEndUnixNs), y.UnitsCounted, y.VisibilityFactor, y.UnitsEstimated, y.YieldKg,
				y.YieldKgLow, y.YieldKgHigh, y.Confidence, final, unixTime(y.EmittedUnixNs),
				uint64(max(y.EmittedUnixNs, 0)), y.ModelId, modelUnits(y), p, o}}, nil
		},
	}
	yields.Day = dayAt(yields.Index("emitted_at"))

	dlq := &Table{
		Name: "dead_letters", Topic: topology.DLQ,
		Doc: "records a stage could not process, with the reason (the payload stays in Kafka)",
		Columns: append([]Column{
			{"stage", "String", "stage that refused the record (ingest, detect, track, aggregate, sink)"},
			{"reason", "String", "why, as the stage's error said it"},
			{"source_topic", "String", "topic of the refused record"},
			{"source_partition", "Int32", "its partition"},
			{"source_offset", "Int64", "its offset (-1 when it never reached Kafka)"},
			{"original_key", "String", "its key"},
			{"original_size", "UInt64", "its size in bytes"},
			{"failed_at", "DateTime", "when it was refused (UTC)"},
		}, sourceColumns...),
		OrderBy: "(stage, failed_at, source_topic, source_partition, source_offset)", PartitionBy: "toYYYYMMDD(failed_at, 'UTC')",
		Rows: func(v []byte, p int32, o int64) ([]Row, error) {
			d, err := schema.Decode[schema.DeadLetter](v)
			if err != nil {
				return nil, err
			}
			return []Row{{d.Stage, d.Reason, d.SourceTopic, d.SourcePartition, d.SourceOffset, string(d.OriginalKey),
				d.OriginalSize, unixTime(d.FailedUnixNs), p, o}}, nil
		},
	}
	dlq.Day = dayAt(dlq.Index("failed_at"))
	quality := modelQualityTable()
	return []*Table{frames, &live, dets, objects, yields, dlq, quality, lineCrossingsTable()}
}

// modelUnits flattens an estimate's units per model: a String column rather
// than Nested or a Map, which 18.16 and current servers do not read alike.
func modelUnits(y *schema.YieldEstimate) string {
	parts := make([]string, 0, len(y.ModelUnits))
	for _, m := range y.ModelUnits {
		parts = append(parts, m.ModelId+"="+strconv.FormatUint(m.Units, 10))
	}
	return strings.Join(parts, ",")
}
