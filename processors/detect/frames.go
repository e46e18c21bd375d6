package detect

import (
	"bytes"
	"errors"
	"fmt"
	"image/jpeg"
	"log/slog"
	"time"

	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/schema"
)

// ErrBadFrame wraps every reason a frame is dead-lettered.
var ErrBadFrame = errors.New("bad frame")

// checkHeader reads only the JPEG header: a corrupt header, or one that
// declares an absurd size (a decompression bomb), is refused before OpenCV
// allocates anything for it.
func checkHeader(f *schema.Frame, maxPixels int) (w, h int, err error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(f.Image))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: frame %s: corrupt JPEG header: %v", ErrBadFrame, f.FrameId, err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > schema.MaxFrameSide || cfg.Height > schema.MaxFrameSide || cfg.Width*cfg.Height > maxPixels {
		return 0, 0, fmt.Errorf("%w: frame %s: JPEG header declares %dx%d, over the limit of %d pixels (%d per side): refused before decoding",
			ErrBadFrame, f.FrameId, cfg.Width, cfg.Height, maxPixels, schema.MaxFrameSide)
	}
	return cfg.Width, cfg.Height, nil
}

// job is one frame through decode and letterbox.
type job struct {
	frame *schema.Frame
	slot  int // index of its image in its lane's batch input
	lb    inference.Letterbox
	w, h  int // from the JPEG header
	err   error
	took  time.Duration
	model *slot // the model it is routed to
	// boxes are its detections in input pixels, once inferred.
	boxes []inference.Detection
	// bright and contrast are the luma mean and deviation of its input.
	bright, contrast float32
	inferNs          int64
}

// decoder decodes a lane's jobs with the configured inference.Decoder.
type decoder struct {
	dec   inference.Decoder
	stats *Stats
	batch []*inference.DecodeJob
}

// newDecoder makes the lane's decoder as cfg.Decode asks. A GPU decoder
// that cannot serve the model (gpu was checked at start, with the model the
// stage started with) leaves the model to the CPU: its frames are decoded
// either way.
func newDecoder(cfg Config, info inference.ModelInfo, workers int, stats *Stats) *decoder {
	d, err := inference.NewDecoder(cfg.Decode, info, workers)
	if err != nil {
		slog.Error("JPEG decoding on the CPU", "stage", Stage, "err", err)
		d = inference.NewCPUDecoder(workers, info.Width, info.Height)
	}
	return &decoder{dec: d, stats: stats}
}

// run decodes and letterboxes jobs into input (one image per slot) and
// returns when all are done.
func (d *decoder) run(jobs []*job, input *inference.Batch) {
	d.batch = d.batch[:0]
	for _, j := range jobs {
		d.batch = append(d.batch, &inference.DecodeJob{JPEG: j.frame.Image, W: j.w, H: j.h, Slot: j.slot})
	}
	d.dec.Decode(d.batch, input)
	for i, j := range jobs {
		r := d.batch[i]
		j.took, j.lb, j.err = r.Took, r.LB, nil
		if r.Err != nil {
			j.err = fmt.Errorf("%w: frame %s: JPEG does not decode: %v", ErrBadFrame, j.frame.FrameId, r.Err)
			continue
		}
		if r.By == inference.DecoderNVJPEG {
			d.stats.GPUDecoded.Add(1)
		} else {
			d.stats.CPUDecoded.Add(1)
		}
		j.bright, j.contrast = r.Bright, r.Contrast
	}
}

func (d *decoder) close() {
	if err := d.dec.Close(); err != nil {
		slog.Warn("closing a JPEG decoder", "stage", Stage, "err", err)
	}
}
