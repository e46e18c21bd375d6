package detect

import (
	"bytes"
	"errors"
	"fmt"
	"image/jpeg"
	"sync"
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

// decoder owns the worker pool's preprocessors; each worker uses its own.
type decoder struct {
	pre []*inference.Preprocessor
}

func newDecoder(workers, w, h int) *decoder {
	d := &decoder{}
	for i := 0; i < workers; i++ {
		d.pre = append(d.pre, inference.NewPreprocessor(w, h))
	}
	return d
}

// run decodes and letterboxes jobs into input (one image per slot) on the
// worker pool and returns when all are done.
func (d *decoder) run(jobs []*job, input *inference.Batch) {
	var wg sync.WaitGroup
	next := make(chan *job)
	for _, p := range d.pre {
		wg.Add(1)
		go func(p *inference.Preprocessor) {
			defer wg.Done()
			for j := range next {
				start := time.Now()
				j.err = d.decodeInto(p, j, input)
				j.took = time.Since(start)
			}
		}(p)
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
}

func (d *decoder) decodeInto(p *inference.Preprocessor, j *job, dst *inference.Batch) error {
	lb, err := p.Decode(j.frame.Image, j.w, j.h, dst, j.slot)
	if err != nil {
		return fmt.Errorf("%w: frame %s: JPEG does not decode: %v", ErrBadFrame, j.frame.FrameId, err)
	}
	j.lb = lb
	j.bright, j.contrast = dst.ImageStats(j.slot, lb)
	return nil
}

func (d *decoder) close() {
	for _, p := range d.pre {
		p.Close()
	}
}
