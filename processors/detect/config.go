package detect

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/cropstream/cropstream/drift"
	"github.com/cropstream/cropstream/inference"
)

// Detector is what the stage needs of an inference engine.
type Detector interface {
	Info() inference.ModelInfo
	Name() string
	// Run infers n preprocessed images laid end to end and returns each
	// image's boxes in input pixels.
	Run(input []float32, n int) ([][]inference.Detection, error)
	// RunUInt8 is Run for models that take letterboxed BGR bytes
	// (Info().UInt8, the GPU rewrite).
	RunUInt8(input []byte, n int) ([][]inference.Detection, error)
}

// Config configures the stage.
type Config struct {
	// Detector runs the model; required.
	Detector Detector
	// MaxBatch is the most frames per inference run. Default 16.
	MaxBatch int
	// MaxWait is how long a batch waits to fill once its first frame is in.
	// Default 10ms.
	MaxWait time.Duration
	// Workers decode and letterbox in parallel, shared among the lanes.
	// Default the number of cores.
	Workers int
	// Lanes is how many batches are decoded and inferred at once, each on its
	// own goroutine (inference lanes, not the live and backfill lanes): a poll takes up to Lanes x MaxBatch frames and splits
	// them. Default: the detector's Sessions() when it has that method
	// (several one-thread CPU sessions), else 1.
	Lanes int
	// LiveSlice bounds how long a live frame waits for backfill: a backfill
	// batch is inferred in slices of about this much time, and live frames
	// that came meanwhile run between slices. Default 40ms; negative runs
	// backfill batches whole (live frames then wait for the batch in hand).
	LiveSlice time.Duration
	// BackfillWait is how long an idle stage waits for live frames before it
	// looks for backfill again; backfill reaching an idle stage waits up to
	// this long. Default 20ms.
	BackfillWait time.Duration
	// Decode chooses the JPEG decoder: the CPU's (default), nvJPEG on the
	// GPU (Mode "gpu": New fails when it cannot serve the detector's model),
	// or nvJPEG when it can serve, else the CPU ("auto"). See
	// inference.DecoderConfig.
	Decode inference.DecoderConfig
	// MaxPixels refuses frames whose JPEG header declares more pixels, before
	// decoding (decompression bombs). Default 40 megapixels.
	MaxPixels int
	// SessionTimeout is how long the group waits for a silent (crashed)
	// instance before giving its partitions to another. Default 10s, as the
	// goka stages and the sink use: franz-go's own 45 s stalled a camera's
	// frames for most of a minute after a crash. Heartbeats go at a fifth of
	// it (at most 3 s), so a few lost heartbeats do not evict a live one.
	SessionTimeout time.Duration
	// Loader loads models deployed to the models topic (models.go); nil
	// serves Detector only and refuses deployments.
	Loader Loader
	// Drift, when set, watches each camera's frames against the serving
	// model's reference and emits model-quality records.
	Drift *drift.Monitor
}

func (c Config) withDefaults() Config {
	if c.MaxBatch == 0 {
		c.MaxBatch = 16
	}
	if c.MaxWait == 0 {
		c.MaxWait = 10 * time.Millisecond
	}
	if c.Workers == 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.Lanes == 0 {
		c.Lanes = 1
		if s, ok := c.Detector.(interface{ Sessions() int }); ok {
			c.Lanes = max(1, s.Sessions())
		}
	}
	if c.LiveSlice == 0 {
		c.LiveSlice = 40 * time.Millisecond
	}
	if c.BackfillWait == 0 {
		c.BackfillWait = 20 * time.Millisecond
	}
	if c.MaxPixels == 0 {
		c.MaxPixels = 40_000_000
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 10 * time.Second
	}
	return c
}

// Validate checks the config.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Detector == nil {
		errs = append(errs, errors.New("detect: a detector is required"))
	}
	if c.MaxBatch < 1 || c.MaxBatch > 256 {
		errs = append(errs, fmt.Errorf("detect: max batch %d, want 1..256", c.MaxBatch))
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("detect: workers %d, want >= 1", c.Workers))
	}
	if c.Lanes < 1 || c.Lanes > 256 {
		errs = append(errs, fmt.Errorf("detect: lanes %d, want 1..256", c.Lanes))
	}
	if c.BackfillWait < 0 || c.BackfillWait > time.Second {
		errs = append(errs, fmt.Errorf("detect: backfill wait %s, want 0..1s", c.BackfillWait))
	}
	if c.MaxPixels < 1 {
		errs = append(errs, fmt.Errorf("detect: max pixels %d, want >= 1", c.MaxPixels))
	}
	if err := c.Decode.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("detect: %w", err))
	}
	// Kafka brokers accept 6 s..30 min by default (group.min/max.session.timeout.ms).
	if c.SessionTimeout < time.Second || c.SessionTimeout > 30*time.Minute {
		errs = append(errs, fmt.Errorf("detect: session timeout %s, want 1s..30m", c.SessionTimeout))
	}
	return errors.Join(errs...)
}

// heartbeat is the interval between heartbeats for the session timeout.
func (c Config) heartbeat() time.Duration {
	return min(c.SessionTimeout/5, 3*time.Second)
}
