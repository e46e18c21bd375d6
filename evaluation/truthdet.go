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
	W, H := sc.Camera.Width, sc.Camera.Height
	header := func(row string, seq uint64, at int64, pos *float64) *schema.Detections {
		d := schema.DetectionsOf(&schema.Frame{FrameId: "truth", CameraId: camera, FieldId: sc.Field, BlockId: sc.Block, RowId: row,
			Sequence: seq, CaptureUnixNs: at, PositionM: pos, Width: uint32(W), Height: uint32(H)})
		d.ClassNames, d.Model = simulator.ClassNames, "truth"
		return d
	}
	var out []*schema.Detections
	for {
		f, err := sim.Next()
		if errors.Is(err, io.EOF) {
			if n := len(out); n > 0 {
				last := out[n-1]
				end := header(last.RowId, last.Sequence+1, last.CaptureUnixNs, last.PositionM)
				end.EndOfStream = true
				out = append(out, end)
			}
			return out, sim.Truth(), nil
		}
		if err != nil {
			return nil, nil, err
		}
		pos := f.PositionM
		d := header(f.RowID, f.Sequence, f.CaptureTime.UnixNano(), &pos)
		for _, b := range f.Boxes {
			if b.Visibility < minVis {
				continue
			}
			r := b.Clipped(W, H)
			d.Detections = append(d.Detections, &schema.Detection{ClassId: uint32(b.ClassID), Score: float32(0.5 + 0.5*b.Visibility),
				Box: &schema.Box{X1: float32(r.Min.X), Y1: float32(r.Min.Y), X2: float32(r.Max.X), Y2: float32(r.Max.Y)}})
		}
		out = append(out, d)
	}
}
