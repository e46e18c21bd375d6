package inference

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// The decoder modes DecoderConfig.Mode takes.
const (
	DecodeCPU  = "cpu"
	DecodeGPU  = "gpu"
	DecodeAuto = "auto"
)

// What Decoder.Kind and DecodeJob.By say.
const (
	DecoderCPU    = "cpu"
	DecoderNVJPEG = "nvjpeg"
)

// ErrNoGPUDecoder is returned when the GPU decoder cannot serve: nvJPEG,
// NVRTC or the CUDA driver is missing, there is no device, or the model
// does not take the GPU graph's byte input.
var ErrNoGPUDecoder = errors.New("no GPU JPEG decoder")

// DecoderConfig chooses the JPEG decoder.
type DecoderConfig struct {
	// Mode is DecodeCPU (default: libjpeg-turbo on the cores), DecodeGPU
	// (nvJPEG; NewDecoder fails when it cannot serve) or DecodeAuto (nvJPEG
	// when it can serve, else the CPU, logged once per process).
	Mode string
	// LibDir is the directory with libnvjpeg.so.13 (or .12) and
	// libnvrtc.so.13 (or .12); default $CROPSTREAM_NVJPEG_DIR, else the
	// system's library path (LD_LIBRARY_PATH, ldconfig).
	LibDir string
	// Driver is the CUDA driver library; default libcuda.so.1.
	Driver string
	// Device is the CUDA device's ordinal; default 0.
	Device int
}

// Validate checks the mode.
func (c DecoderConfig) Validate() error {
	switch c.Mode {
	case "", DecodeCPU, DecodeGPU, DecodeAuto:
		return nil
	}
	return fmt.Errorf("decoder %q: want cpu, gpu or auto", c.Mode)
}

// DecodeJob is one JPEG frame to decode into a slot of a Batch, and what
// became of it.
type DecodeJob struct {
	JPEG []byte
	// W and H are the frame's size from its header.
	W, H int
	Slot int
	// LB maps the model's input back to frame pixels; Err says why the
	// frame did not decode; Took is its decode time (on the GPU its share
	// of the batch's); By is the decoder that decoded it (DecoderCPU or
	// DecoderNVJPEG: the GPU decoder leaves some frames to the CPU);
	// Bright and Contrast are its input's Batch.ImageStats.
	LB               Letterbox
	Err              error
	Took             time.Duration
	By               string
	Bright, Contrast float32
}

// finish sets what a decoded job reports besides its letterbox.
func (j *DecodeJob) finish(b *Batch, by string, took time.Duration) {
	j.By, j.Took = by, took
	if j.Err == nil {
		j.Bright, j.Contrast = b.ImageStats(j.Slot, j.LB)
	}
}

// Decoder decodes JPEG frames into the slots of a model's input batch,
// letterboxed. One Decoder serves one goroutine at a time.
type Decoder interface {
	// Decode fills each job's slot of b and the job's results; it returns
	// when all are done.
	Decode(jobs []*DecodeJob, b *Batch)
	// Kind says which decoder serves: DecoderCPU or DecoderNVJPEG.
	Kind() string
	Close() error
}

// NewDecoder makes the decoder cfg asks for, for the model info describes;
// the CPU decoder runs workers goroutines.
func NewDecoder(cfg DecoderConfig, info ModelInfo, workers int) (Decoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	switch cfg.Mode {
	case DecodeGPU:
		return newNVJPEGDecoder(cfg, info, workers)
	case DecodeAuto:
		d, err := newNVJPEGDecoder(cfg, info, workers)
		if err == nil {
			return d, nil
		}
		fallbackOnce.Do(func() { slog.Warn("JPEG decoding on the CPU: the GPU decoder cannot serve", "err", err) })
	}
	return NewCPUDecoder(workers, info.Width, info.Height), nil
}

// fallbackOnce keeps an auto decoder per lane and model from repeating why
// the GPU decoder cannot serve: the reason is the same for all.
var fallbackOnce sync.Once

// CPUDecoder decodes with libjpeg-turbo on a pool of workers, each with a
// Preprocessor of its own.
type CPUDecoder struct {
	pre []*Preprocessor
}

// NewCPUDecoder makes a decoder of workers goroutines for a w x h input.
func NewCPUDecoder(workers, w, h int) *CPUDecoder {
	d := &CPUDecoder{}
	for range max(workers, 1) {
		d.pre = append(d.pre, NewPreprocessor(w, h))
	}
	return d
}

// Decode decodes the jobs on the worker pool.
func (d *CPUDecoder) Decode(jobs []*DecodeJob, b *Batch) {
	var wg sync.WaitGroup
	next := make(chan *DecodeJob)
	for _, p := range d.pre {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				start := time.Now()
				j.LB, j.Err = p.Decode(j.JPEG, j.W, j.H, b, j.Slot)
				j.finish(b, DecoderCPU, time.Since(start))
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
}

// Kind is DecoderCPU.
func (d *CPUDecoder) Kind() string { return DecoderCPU }

// Close releases the workers' buffers.
func (d *CPUDecoder) Close() error {
	for _, p := range d.pre {
		p.Close()
	}
	return nil
}
