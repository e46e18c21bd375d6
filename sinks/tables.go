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

// Row is one row's values in the table's column order, for what reads or
// writes rows one at a time (files, tests): string, uint8..uint64, int32,
// int64, float32, float64, *float64 (Nullable), time.Time (DateTime). The
// sink itself holds rows in a Block.
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
	// Append decodes one record into zero or more rows of b, one value per
	// column in order (Block.Str, Block.U64, ... Block.Source).
	Append func(b *Block, value []byte, partition int32, offset int64) error
	// Day is the partition key of row i (its UTC day number), so a flush
	// never spans two ClickHouse partitions (an insert is atomic only
	// within one).
	Day func(b *Block, i int) uint32
}

// Decode appends the rows of one record to b. On an error b is as it was.
func (t *Table) Decode(b *Block, value []byte, partition int32, offset int64) error {
	n := b.Len()
	err := t.Append(b, value, partition, offset)
	if err == nil {
		err = b.complete()
	}
	if err != nil {
		b.Truncate(n)
	}
	return err
}

// Rows decodes one record into rows, one at a time (Decode fills a Block).
func (t *Table) Rows(value []byte, partition int32, offset int64) ([]Row, error) {
	b := NewBlock(t)
	if err := t.Decode(b, value, partition, offset); err != nil {
		return nil, err
	}
	rows := make([]Row, b.Len())
	for i := range rows {
		rows[i] = b.Row(i)
	}
	return rows, nil
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

// Check reports a row of b the store cannot hold: a DateTime column out of
// range. The error names the column and the value.
func (t *Table) Check(b *Block, i int) error {
	for c, col := range t.Columns {
		if col.Type != "DateTime" {
			continue
		}
		if s := b.unix(c, i); s < MinDateTime.Unix() || s > MaxDateTime.Unix() {
			return fmt.Errorf("%s: column %s is %s: %w", t.Name, col.Name, time.Unix(s, 0).UTC().Format(time.RFC3339), ErrTimeOutOfRange)
		}
	}
	return nil
}

// CheckRow is Check of one row given as values (a value of the wrong type
// is an error too).
func (t *Table) CheckRow(r Row) error {
	b, err := BlockOf(t, r)
	if err != nil {
		return err
	}
	return t.Check(b, 0)
}

// dayOf is the UTC day of a Unix second, counted from 1970-01-01: one
// division per row rather than a calendar date, and equal exactly when
// toYYYYMMDD(t, 'UTC') is.
func dayOf(unix int64) uint32 {
	d := unix / 86400
	if unix%86400 < 0 {
		d--
	}
	return uint32(d)
}

func dayAt(col int) func(*Block, int) uint32 {
	return func(b *Block, i int) uint32 { return dayOf(b.unix(col, i)) }
}

// TableNamed is the analytics table called name; nil if there is none.
func TableNamed(name string) *Table {
	for _, t := range Tables() {
		if t.Name == name {
			return t
		}
	}
	return nil
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
		Append: func(b *Block, v []byte, p int32, o int64) error {
			f, err := schema.DecodeFrame(v)
			if err != nil {
				return err
			}
			if f.EndOfStream {
				return nil // a marker, not a frame
			}
			b.Str(f.FrameId).Str(f.CameraId).Str(f.FieldId).Str(f.BlockId).Str(f.RowId).U64(f.Sequence).
				Time(f.CaptureUnixNs).I64(f.CaptureUnixNs).OptF64(f.PositionM).U32(f.Width).U32(f.Height).
				U32(uint32(len(f.Image))).Str(f.Source).Source(p, o)
			return nil
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
		// The busiest table: read from the wire bytes, one row per box, with
		// no message decoded in between.
		Append: func(b *Block, v []byte, p int32, o int64) error {
			var d schema.DetectionsView
			if err := schema.ReadDetections(v, &d); err != nil {
				return err
			}
			var pos *float64
			if d.HasPositionM {
				pos = &d.PositionM
			}
			for i, x := range d.Boxes() {
				b.Bytes(d.FrameID).Bytes(d.CameraID).Bytes(d.FieldID).Bytes(d.BlockID).Bytes(d.RowID).U64(d.Sequence).
					Time(d.CaptureUnixNs).I64(d.CaptureUnixNs).I64(d.DetectedUnixNs).OptF64(pos).Bytes(d.Model).U16(uint16(i)).
					U16(uint16(x.ClassID)).Bytes(d.ClassName(x.ClassID)).F32(x.Score).F32(x.X1).F32(x.Y1).F32(x.X2).F32(x.Y2).
					Bytes(d.ModelID).Source(p, o)
			}
			return nil
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
		Append: func(b *Block, v []byte, p int32, o int64) error {
			c, err := schema.DecodeCountedObject(v)
			if err != nil {
				return err
			}
			if c.Control != "" {
				return nil // window markers are not objects
			}
			bx := c.GetBestBox()
			b.Str(c.ObjectId).Str(c.CameraId).Str(c.FieldId).Str(c.BlockId).Str(c.RowId).Str(c.PlantId).U16(uint16(c.ClassId)).
				Str(c.ClassName).U64(c.FirstSequence).U64(c.LastSequence).Time(c.FirstSeenUnixNs).I64(c.FirstSeenUnixNs).
				I64(c.LastSeenUnixNs).U32(c.FramesSeen).F32(c.BestScore).F32(bx.GetX1()).F32(bx.GetY1()).F32(bx.GetX2()).F32(bx.GetY2()).
				OptF64(c.PositionM).Str(c.ModelId).Source(p, o)
			return nil
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
			{"confidence", "Float64", "confidence level of the interval: 0.95, or 0 when no plant of the block was hand counted (a range from the crop profile's prior visibility, not a statistical interval)"},
			{"final", "UInt8", "1 when the window closed (every row passed, or yield close); 0 for a provisional estimate while passes run"},
			{"emitted_at", "DateTime", "when the estimate was made (UTC)"},
			{"emitted_unix_ns", "UInt64", "same, nanoseconds; the latest estimate of a block wins"},
			{"model_id", "String", "model the counted units came from; 'mixed' when more than one"},
			{"model_units", "String", "units per model, id=units joined by ',' (several only when mixed)"},
		}, sourceColumns...),
		OrderBy: "(block_id, estimate_id)", PartitionBy: "toYYYYMMDD(emitted_at, 'UTC')",
		Append: func(b *Block, v []byte, p int32, o int64) error {
			y, err := schema.DecodeYieldEstimate(v)
			if err != nil {
				return err
			}
			var final uint8
			if y.Final {
				final = 1
			}
			b.Str(y.EstimateId).Str(y.FieldId).Str(y.BlockId).Str(y.Crop).Time(y.WindowStartUnixNs).
				Time(y.WindowEndUnixNs).U64(y.UnitsCounted).F64(y.VisibilityFactor).F64(y.UnitsEstimated).F64(y.YieldKg).
				F64(y.YieldKgLow).F64(y.YieldKgHigh).F64(y.Confidence).U8(final).Time(y.EmittedUnixNs).
				U64(uint64(max(y.EmittedUnixNs, 0))).Str(y.ModelId).Str(modelUnits(y)).Source(p, o)
			return nil
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
		Append: func(b *Block, v []byte, p int32, o int64) error {
			d, err := schema.Decode[schema.DeadLetter](v)
			if err != nil {
				return err
			}
			b.Str(d.Stage).Str(d.Reason).Str(d.SourceTopic).I32(d.SourcePartition).I64(d.SourceOffset).Str(string(d.OriginalKey)).
				U64(d.OriginalSize).Time(d.FailedUnixNs).Source(p, o)
			return nil
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
