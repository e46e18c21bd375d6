package schema

import "fmt"

// MaxFrameSide bounds width and height of any frame: larger values are a
// corrupt header or a decompression bomb, not a camera (8K is 7680 wide).
const MaxFrameSide = 16384

func (f *Frame) validate() error {
	switch {
	case f.GetFrameId() == "":
		return fmt.Errorf("%w: frame has no frame_id", ErrInvalid)
	case f.GetCameraId() == "":
		return fmt.Errorf("%w: frame %s has no camera_id", ErrInvalid, f.GetFrameId())
	case f.GetEndOfStream():
		if len(f.GetImage()) > 0 {
			return fmt.Errorf("%w: frame %s marks the end of stream and carries an image", ErrInvalid, f.GetFrameId())
		}
		return nil
	case f.GetEncoding() != Encoding_ENCODING_JPEG:
		return fmt.Errorf("%w: frame %s has encoding %v, want JPEG", ErrInvalid, f.GetFrameId(), f.GetEncoding())
	case len(f.GetImage()) == 0:
		return fmt.Errorf("%w: frame %s has no image bytes", ErrInvalid, f.GetFrameId())
	case f.GetWidth() == 0 || f.GetHeight() == 0 || f.GetWidth() > MaxFrameSide || f.GetHeight() > MaxFrameSide:
		return fmt.Errorf("%w: frame %s has size %dx%d, want 1..%d per side", ErrInvalid, f.GetFrameId(), f.GetWidth(), f.GetHeight(), MaxFrameSide)
	}
	return nil
}

func (d *Detections) validate() error {
	if d.GetFrameId() == "" || d.GetCameraId() == "" {
		return fmt.Errorf("%w: detections without frame_id or camera_id", ErrInvalid)
	}
	return nil
}

// The CountedObject controls (field control).
const (
	// ControlCloseWindow: an operator closes the block's window now.
	ControlCloseWindow = "close-window"
	// ControlPassStart: a camera began a pass along a row of the block.
	ControlPassStart = "pass-start"
	// ControlPassEnd: that pass ended (reason: end-of-stream, idle, new-row).
	ControlPassEnd = "pass-end"
)

func (o *CountedObject) validate() error {
	switch o.GetControl() {
	case "":
	case ControlCloseWindow:
		if o.GetBlockId() == "" {
			return fmt.Errorf("%w: control %q without block_id", ErrInvalid, o.GetControl())
		}
		return nil
	case ControlPassStart, ControlPassEnd:
		if o.GetBlockId() == "" || o.GetCameraId() == "" {
			return fmt.Errorf("%w: control %q without block_id or camera_id", ErrInvalid, o.GetControl())
		}
		return nil
	default:
		return fmt.Errorf("%w: unknown control %q for block %q", ErrInvalid, o.GetControl(), o.GetBlockId())
	}
	if o.GetObjectId() == "" || o.GetBlockId() == "" {
		return fmt.Errorf("%w: counted object without object_id or block_id", ErrInvalid)
	}
	return nil
}

func (y *YieldEstimate) validate() error {
	if y.GetEstimateId() == "" || y.GetBlockId() == "" {
		return fmt.Errorf("%w: yield estimate without estimate_id or block_id", ErrInvalid)
	}
	return nil
}

// MaxPlantsPerRow bounds a field map's rows: more is a typo, not an orchard.
const MaxPlantsPerRow = 100_000

func (b *FieldBlock) validate() error {
	if b.GetBlockId() == "" {
		return fmt.Errorf("%w: field block without block_id", ErrInvalid)
	}
	if b.GetCrop() == "" {
		return fmt.Errorf("%w: block %s has no crop", ErrInvalid, b.GetBlockId())
	}
	seen := map[string]bool{}
	for i, r := range b.GetRows() {
		switch {
		case r.GetRowId() == "":
			return fmt.Errorf("%w: block %s row %d has no row_id", ErrInvalid, b.GetBlockId(), i+1)
		case seen[r.GetRowId()]:
			return fmt.Errorf("%w: block %s lists row %s twice", ErrInvalid, b.GetBlockId(), r.GetRowId())
		case r.GetPlants() == 0 || r.GetPlants() > MaxPlantsPerRow:
			return fmt.Errorf("%w: block %s row %s has %d plants, want 1..%d", ErrInvalid, b.GetBlockId(), r.GetRowId(), r.GetPlants(), MaxPlantsPerRow)
		case !(r.GetPlantSpacingM() > 0 && r.GetPlantSpacingM() < 1000):
			return fmt.Errorf("%w: block %s row %s has plant spacing %g m, want more than 0 and under 1000", ErrInvalid, b.GetBlockId(), r.GetRowId(), r.GetPlantSpacingM())
		}
		seen[r.GetRowId()] = true
	}
	return nil
}

func (h *HandCounts) validate() error {
	if h.GetBlockId() == "" {
		return fmt.Errorf("%w: hand counts without block_id", ErrInvalid)
	}
	seen := map[string]bool{}
	for _, p := range h.GetPlants() {
		if p.GetPlantId() == "" || seen[p.GetPlantId()] {
			return fmt.Errorf("%w: block %s hand counts: empty or repeated plant_id %q", ErrInvalid, h.GetBlockId(), p.GetPlantId())
		}
		if p.GetMeanMassG() < 0 {
			return fmt.Errorf("%w: block %s plant %s: negative mass", ErrInvalid, h.GetBlockId(), p.GetPlantId())
		}
		seen[p.GetPlantId()] = true
	}
	return nil
}

// The LineCrossing directions.
const (
	DirectionIn  = "in"
	DirectionOut = "out"
)

func (c *LineCrossing) validate() error {
	switch {
	case c.GetCrossingId() == "" || c.GetCameraId() == "" || c.GetLine() == "":
		return fmt.Errorf("%w: line crossing without crossing_id, camera_id or line", ErrInvalid)
	case c.GetDirection() != DirectionIn && c.GetDirection() != DirectionOut:
		return fmt.Errorf("%w: line crossing %s has direction %q, want in or out", ErrInvalid, c.GetCrossingId(), c.GetDirection())
	}
	return nil
}
