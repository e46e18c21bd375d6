package sinks

import (
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// lineCrossingsTable holds the track stage's count-line crossings: one row
// per track, line and direction. Counts per line, direction and class are
// uniqExact(crossing_id) (or count() with FINAL): a replay re-sends a
// crossing with the same id.
func lineCrossingsTable() *Table {
	t := &Table{
		Name: "line_crossings", Topic: topology.LineCrossings, Replacing: true,
		Doc: "tracks counted across cameras' count lines (cropstream zones set), one row per track, line and direction",
		Columns: append([]Column{
			{"crossing_id", "String", "object + line + direction; unique per crossing"},
			{"camera_id", "String", "camera"},
			{"line", "String", "the count line's name"},
			{"direction", "String", "in (from the right of the line to its left, facing from its first end to its second on screen: left to right across a line drawn top to bottom) or out"},
			{"class_id", "UInt16", "class index in the model"},
			{"class_name", "String", "class name"},
			{"object_id", "String", "camera + stream + track id, as in objects"},
			{"stream_id", "String", "the camera's stream"},
			{"field_id", "String", "field"},
			{"block_id", "String", "block"},
			{"row_id", "String", "row"},
			{"sequence", "UInt64", "frame the crossing was seen in"},
			{"crossed_at", "DateTime", "capture time of that frame (UTC)"},
			{"capture_unix_ns", "Int64", "same, nanoseconds"},
			{"x", "Float32", "track centre on that frame, frame pixels"},
			{"y", "Float32", "same, vertical"},
			{"model_id", "String", "model whose boxes the frame carried"},
		}, sourceColumns...),
		OrderBy: "(camera_id, line, crossing_id)", PartitionBy: "toYYYYMMDD(crossed_at, 'UTC')",
		Append: func(b *Block, v []byte, p int32, o int64) error {
			c, err := schema.DecodeLineCrossing(v)
			if err != nil {
				return err
			}
			b.Str(c.CrossingId).Str(c.CameraId).Str(c.Line).Str(c.Direction).U16(uint16(c.ClassId)).Str(c.ClassName).Str(c.ObjectId).
				Str(c.StreamId).Str(c.FieldId).Str(c.BlockId).Str(c.RowId).U64(c.Sequence).Time(c.CaptureUnixNs).I64(c.CaptureUnixNs).
				F32(c.X).F32(c.Y).Str(c.ModelId).Source(p, o)
			return nil
		},
	}
	t.Day = dayAt(t.Index("crossed_at"))
	return t
}
