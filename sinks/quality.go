package sinks

import (
	"github.com/cropstream/cropstream/drift"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// modelQualityTable holds the detect stage's model-quality records: one row
// per camera and window of frames. The drift statistics are columns, one
// pair per feature, rather than an array of structs: per-camera-hour
// queries (docs/analytics.md) read them as plain numbers.
func modelQualityTable() *Table {
	cols := []Column{
		{"camera_id", "String", "camera"},
		{"model_id", "String", "serving model of the window: name@version+sha256:<12 hex>"},
		{"window_start", "DateTime", "capture time of the window's first frame (UTC)"},
		{"window_end", "DateTime", "capture time of its last frame (UTC)"},
		{"window_start_unix_ns", "Int64", "same as window_start, nanoseconds; with camera and model the row's id"},
		{"frames", "UInt32", "frames in the window"},
		{"boxes", "UInt64", "boxes found in them"},
		{"mean_score", "Float64", "mean detector score of the boxes (0 without boxes)"},
		{"mean_brightness", "Float64", "mean luma of the frames as the model saw them, 0..1"},
		{"mean_contrast", "Float64", "mean luma standard deviation of the frames, 0..1"},
	}
	for _, f := range drift.Features {
		cols = append(cols,
			Column{"ks_" + f, "Nullable(Float64)", "Kolmogorov-Smirnov statistic of " + f + " over the camera's drift window against the model's reference (NULL: no reference)"},
			Column{"psi_" + f, "Nullable(Float64)", "population stability index of " + f + " (NULL: no reference)"})
	}
	cols = append(cols, Column{"emitted_at", "DateTime", "when detect emitted the record (UTC)"})
	t := &Table{
		Name: "model_quality", Topic: topology.ModelQuality, Replacing: true,
		Doc:     "detection quality and drift per camera and window of frames (see docs/analytics.md for per camera-hour queries)",
		Columns: append(cols, sourceColumns...),
		OrderBy: "(camera_id, model_id, window_start_unix_ns)", PartitionBy: "toYYYYMMDD(window_end, 'UTC')",
		Append: func(b *Block, v []byte, p int32, o int64) error {
			q, err := schema.Decode[schema.ModelQuality](v)
			if err != nil {
				return err
			}
			b.Str(q.CameraId).Str(q.ModelId).Time(q.WindowStartUnixNs).Time(q.WindowEndUnixNs).I64(q.WindowStartUnixNs).
				U32(q.Frames).U64(q.Boxes).F64(q.MeanScore).F64(q.MeanBrightness).F64(q.MeanContrast)
			for _, f := range drift.Features {
				var ks, psi *float64
				for _, d := range q.Drift {
					if d.Feature == f {
						ks, psi = &d.Ks, &d.Psi
					}
				}
				b.OptF64(ks).OptF64(psi)
			}
			b.Time(q.EmittedUnixNs).Source(p, o)
			return nil
		},
	}
	t.Day = dayAt(t.Index("window_end"))
	return t
}
