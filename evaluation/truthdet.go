package evaluation

import (
	"errors"
	"io"

	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/simulator"
)

// TruthDetections renders sc and returns what a perfect detector would emit
// for camera: every unit at least minVis visible, clipped to the frame, with
// a score that falls with visibility (as a real detector's does), then the
// stream's end.
func TruthDetections(sc *simulator.Scenario, camera string, minVis float64) ([]*schema.Detections, error) {
	ds, _, err := TruthField(sc, camera, minVis)
	return ds, err
}

// TruthField is TruthDetections with the field's truth (every plant's
// units, visible ones, masses), known once every frame is rendered.
func TruthField(sc *simulator.Scenario, camera string, minVis float64) ([]*schema.Detections, *simulator.Truth, error) {
	sim := simulator.New(sc)
	defer sim.Close()
	W := sc.Camera.Width
	var out []*schema.Detections
	for {
		f, err := sim.Next()
		if errors.Is(err, io.EOF) {
			if n := len(out); n > 0 {
				last := out[n-1]
				out = append(out, &schema.Detections{FrameId: "truth", CameraId: camera, FieldId: sc.Field, BlockId: sc.Block,
					RowId: last.RowId, Sequence: last.Sequence + 1, CaptureUnixNs: last.CaptureUnixNs, PositionM: last.PositionM,
					Width: last.Width, Height: last.Height, ClassNames: simulator.ClassNames, Model: "truth", EndOfStream: true})
			}
			return out, sim.Truth(), nil
		}
		if err != nil {
			return nil, nil, err
		}
		pos := f.PositionM
		d := &schema.Detections{FrameId: "truth", CameraId: camera, FieldId: sc.Field, BlockId: sc.Block, RowId: f.RowID,
			Sequence: f.Sequence, CaptureUnixNs: f.CaptureTime.UnixNano(), PositionM: &pos,
			Width: uint32(W), Height: uint32(sc.Camera.Height), ClassNames: simulator.ClassNames, Model: "truth"}
		for _, b := range f.Boxes {
			if b.Visibility < minVis {
				continue
			}
			d.Detections = append(d.Detections, &schema.Detection{ClassId: uint32(b.ClassID), Score: float32(0.5 + 0.5*b.Visibility),
				Box: &schema.Box{X1: float32(max(0, b.Rect.Min.X)), Y1: float32(b.Rect.Min.Y), X2: float32(min(W, b.Rect.Max.X)), Y2: float32(b.Rect.Max.Y)}})
		}
		out = append(out, d)
	}
}
