package ingest

import (
	"context"
	"fmt"
	"time"

	"gocv.io/x/gocv"
)

// Source yields a camera's frames in capture order. Next returns io.EOF after
// the last frame of a finite source.
type Source interface {
	Next(ctx context.Context) (Captured, error)
	Info() SourceInfo
	Close() error
}

// SourceInfo describes a source.
type SourceInfo struct {
	// Name is what the frames' source field says: a path, a URL, a scenario.
	Name string
	// FPS is the source's native frame rate (0 when unknown).
	FPS float64
	// Frames is the number of frames, -1 when unknown or endless.
	Frames int
	// Live sources are clocked by the wall clock: their Offset counts from the
	// Unix epoch, so sequence numbers keep increasing across restarts.
	Live bool
}

// Captured is one frame as a source delivers it. Exactly one of Image and
// JPEG is set.
type Captured struct {
	// Image is a decoded frame, owned by the source and valid until the next
	// call of Next.
	Image *gocv.Mat
	// JPEG is an already-encoded frame, passed through unchanged.
	JPEG          []byte
	Width, Height int
	// Offset is where the frame sits on the source's timeline: since its
	// start for files and folders, since the Unix epoch for live streams.
	Offset time.Duration
	// Sequence, when the source numbers its own frames (the simulator), is
	// used as is; otherwise the ingester derives it from Offset and the rate.
	Sequence *uint64
	// CaptureTime, when known to the source; otherwise CaptureStart + Offset.
	CaptureTime time.Time
	// PositionM is the camera's position along the row, when known.
	PositionM *float64
	// RowID, when set, overrides Config.RowID: a source that drives along
	// several rows (the simulator) says which one each frame is from.
	RowID string
}

// BadFrameError is one unusable frame in a source that can go on (a corrupt
// image in a folder). The ingester dead-letters it and continues.
type BadFrameError struct {
	Name string // file or position of the frame
	Raw  []byte // its bytes, when read
	Err  error
}

func (e *BadFrameError) Error() string { return fmt.Sprintf("bad frame %s: %v", e.Name, e.Err) }
func (e *BadFrameError) Unwrap() error { return e.Err }
