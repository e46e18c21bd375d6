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

// ControlCloseWindow is the CountedObject control that closes a window.
const ControlCloseWindow = "close-window"

func (o *CountedObject) validate() error {
	if o.GetControl() != "" {
		if o.GetControl() != ControlCloseWindow || o.GetBlockId() == "" {
			return fmt.Errorf("%w: control %q for block %q", ErrInvalid, o.GetControl(), o.GetBlockId())
		}
		return nil
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
