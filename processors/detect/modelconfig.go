package detect

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/drift"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/schema"
)

// ModelConfig is the detector as every command that runs it takes it: the
// model file, ONNX Runtime and the execution provider.
type ModelConfig struct {
	// Config holds the flags; ScoreThreshold, Rewrite and ProviderOptions
	// are set by each use. Batch is the batch a GPU session is built for (0:
	// the engine's default); a command sets it from its own batch size.
	// ModelName, ModelVersion and SHA256 are a deployment's: the engine
	// takes its id from them and refuses a file with another hash.
	inference.Config
	// EPOptions are KEY=VALUE options of the execution provider.
	EPOptions []string
	// ImageSize is the input size, "640" or "384x640" (height x width), for
	// a model whose export leaves it open; empty: the model's own.
	ImageSize string
}

// RegisterFlags registers the model and runtime flags.
func (m *ModelConfig) RegisterFlags(f *pflag.FlagSet) {
	f.StringVar(&m.ModelPath, "model", inference.DefaultModel, "ONNX detection model (Ultralytics YOLOv8/YOLO11 layout or end-to-end)")
	f.StringVar(&m.LibPath, "ort-lib", "", "libonnxruntime.so (default $"+inference.LibEnv+", else "+inference.DefaultLib+" from ./scripts/setup.sh)")
	f.IntVar(&m.Threads, "threads", 0, "ONNX Runtime threads per session (default: the cores divided among the sessions)")
	f.IntVar(&m.Sessions, "sessions", 0, "model sessions run at once (default: on CUDA 3; for the detect stage on the CPU one per core, each with one thread and its own batches; else 1)")
	f.StringVar(&m.Provider, "provider", "cpu", "execution provider: cpu, or cuda (ONNX Runtime's CUDA plugin provider; CUDA 13 and cuDNN 9 on LD_LIBRARY_PATH)")
	f.StringVar(&m.CUDALib, "cuda-lib", "", "libonnxruntime_providers_cuda.so (default $"+inference.CUDALibEnv+")")
	f.StringArrayVar(&m.EPOptions, "ep-option", nil, "execution provider option KEY=VALUE, repeatable (CUDA: prefer_nhwc=1, use_tf32=0, ...)")
	f.StringVar(&m.ImageSize, "imgsz", "", "model input size, N or HEIGHTxWIDTH in multiples of 32, for a model exported with open height and width (default: its imgsz metadata); frames are letterboxed into it, so objects must come out at about the size the model was trained on")
}

// EngineConfig is the engine's config with scoreThreshold and rw (nil: the
// provider's default).
func (m ModelConfig) EngineConfig(scoreThreshold float32, rw *inference.Rewrite) (inference.Config, error) {
	cfg := m.Config
	cfg.ScoreThreshold, cfg.Rewrite = scoreThreshold, rw
	var err error
	if cfg.Height, cfg.Width, err = inference.ParseImageSize(m.ImageSize); err != nil {
		return cfg, err
	}
	cfg.ProviderOptions, err = inference.ParseProviderOptions(m.EPOptions)
	return cfg, err
}

// NewEngine loads the model with rw (nil: the provider's default).
func (m ModelConfig) NewEngine(scoreThreshold float32, rw *inference.Rewrite) (*inference.Engine, error) {
	cfg, err := m.EngineConfig(scoreThreshold, rw)
	if err != nil {
		return nil, err
	}
	return inference.New(cfg)
}

// Engine is inference.Open: on cuda, the first graph variant that runs.
func (m ModelConfig) Engine(scoreThreshold float32) (*inference.Engine, error) {
	cfg, err := m.EngineConfig(scoreThreshold, nil)
	if err != nil {
		return nil, err
	}
	return inference.Open(cfg, m.Probe)
}

// StageEngine is inference.OpenStage, for the detect stage.
func (m ModelConfig) StageEngine(scoreThreshold float32) (*inference.Engine, error) {
	cfg, err := m.EngineConfig(scoreThreshold, nil)
	if err != nil {
		return nil, err
	}
	return inference.OpenStage(cfg, m.Probe)
}

// Probe runs the command `probe-model` in a child process with these flags.
func (m ModelConfig) Probe(rewrite string) error {
	batch := m.Batch
	if batch == 0 {
		batch = inference.DefaultGPUBatch
	}
	args := []string{"probe-model", "--model", m.ModelPath, "--provider", m.Provider, "--rewrite", rewrite, "--batch", strconv.Itoa(batch)}
	for _, o := range m.EPOptions {
		args = append(args, "--ep-option", o)
	}
	if m.ImageSize != "" {
		args = append(args, "--imgsz", m.ImageSize)
	}
	if m.LibPath != "" {
		args = append(args, "--ort-lib", m.LibPath)
	}
	if m.CUDALib != "" {
		args = append(args, "--cuda-lib", m.CUDALib)
	}
	return inference.ProbeInChild(args...)
}

// Loader loads deployed models for the detect stage with the same flags as
// its model: on the CPU the model is first run in a child process (the probe
// the CUDA path uses), so a file that crashes ONNX Runtime kills the child,
// not the stage; on CUDA StageEngine probes each graph variant itself.
func (m ModelConfig) Loader(scoreThreshold float32) Loader {
	return func(ctx context.Context, d *schema.ModelDeployment) (Detector, error) {
		g := m
		g.ModelPath, g.ModelName, g.ModelVersion, g.SHA256 = d.Path, d.Name, d.Version, d.Sha256
		if g.Provider != "cuda" {
			if err := g.Probe("none"); err != nil {
				return nil, fmt.Errorf("probe in a child process: %w", err)
			}
		}
		return g.StageEngine(scoreThreshold)
	}
}

// DriftMonitor watches the detect stage's cameras against the reference
// stored beside the model; without one it still summarises quality, without
// drift statistics.
func (m ModelConfig) DriftMonitor(window int, id inference.ModelID) (*drift.Monitor, error) {
	path, err := inference.FindModel(m.ModelPath)
	if err != nil {
		return nil, err
	}
	ref, err := drift.LoadFor(path, id.SHA256)
	if err != nil {
		return nil, err
	}
	return drift.NewMonitor(drift.Config{Window: window}, ref), nil
}
