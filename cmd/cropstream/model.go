package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/inference"
)

// modelFlags are the flags of every command that runs the detector.
type modelFlags struct {
	model    string
	ortLib   string
	threads  int
	sessions int
	provider string
	cudaLib  string
	// epOptions are KEY=VALUE options of the execution provider.
	epOptions []string
	// batch is the batch a GPU session is built for (0: the engine's
	// default); the command sets it from its own batch size.
	batch int
	// name, version and sha256 are a deployment's (models.go): the engine
	// takes its id from them and refuses a file with another hash.
	name, version, sha256 string
}

func (m *modelFlags) register(f *pflag.FlagSet) {
	f.StringVar(&m.model, "model", inference.DefaultModel, "ONNX detection model (Ultralytics YOLOv8/YOLO11 layout or end-to-end)")
	f.StringVar(&m.ortLib, "ort-lib", "", "libonnxruntime.so (default $"+inference.LibEnv+", else "+inference.DefaultLib+" from ./scripts/setup.sh)")
	f.IntVar(&m.threads, "threads", 0, "ONNX Runtime threads per session (default: the cores divided among the sessions)")
	f.IntVar(&m.sessions, "sessions", 0, "model sessions run at once (default: on CUDA 3; for the detect stage on the CPU one per core, each with one thread and its own batches; else 1)")
	f.StringVar(&m.provider, "provider", "cpu", "execution provider: cpu, or cuda (ONNX Runtime's CUDA plugin provider; CUDA 13 and cuDNN 9 on LD_LIBRARY_PATH)")
	f.StringVar(&m.cudaLib, "cuda-lib", "", "libonnxruntime_providers_cuda.so (default $"+inference.CUDALibEnv+")")
	f.StringArrayVar(&m.epOptions, "ep-option", nil, "execution provider option KEY=VALUE, repeatable (CUDA: prefer_nhwc=1, use_tf32=0, ...)")
}

func (m *modelFlags) config(scoreThreshold float32, rw *inference.Rewrite) (inference.Config, error) {
	opts, err := inference.ParseProviderOptions(m.epOptions)
	return inference.Config{ModelPath: m.model, LibPath: m.ortLib, Threads: m.threads, Sessions: m.sessions, ScoreThreshold: scoreThreshold,
		Provider: m.provider, CUDALib: m.cudaLib, Rewrite: rw, Batch: m.batch, ProviderOptions: opts,
		ModelName: m.name, ModelVersion: m.version, SHA256: m.sha256}, err
}

// newEngine loads the model with rw (nil: the provider's default).
func (m *modelFlags) newEngine(scoreThreshold float32, rw *inference.Rewrite) (*inference.Engine, error) {
	cfg, err := m.config(scoreThreshold, rw)
	if err != nil {
		return nil, err
	}
	return inference.New(cfg)
}

// engine is inference.Open: on cuda, the first graph variant that runs.
func (m *modelFlags) engine(scoreThreshold float32) (*inference.Engine, error) {
	cfg, err := m.config(scoreThreshold, nil)
	if err != nil {
		return nil, err
	}
	return inference.Open(cfg, m.probe)
}

// stageEngine is inference.OpenStage, for the detect stage.
func (m *modelFlags) stageEngine(scoreThreshold float32) (*inference.Engine, error) {
	cfg, err := m.config(scoreThreshold, nil)
	if err != nil {
		return nil, err
	}
	return inference.OpenStage(cfg, m.probe)
}

// probe runs probe-model in a child process with these flags.
func (m *modelFlags) probe(rewrite string) error {
	batch := m.batch
	if batch == 0 {
		batch = inference.DefaultGPUBatch
	}
	args := []string{"probe-model", "--model", m.model, "--provider", m.provider, "--rewrite", rewrite, "--batch", strconv.Itoa(batch)}
	for _, o := range m.epOptions {
		args = append(args, "--ep-option", o)
	}
	if m.ortLib != "" {
		args = append(args, "--ort-lib", m.ortLib)
	}
	if m.cudaLib != "" {
		args = append(args, "--cuda-lib", m.cudaLib)
	}
	return inference.ProbeInChild(args...)
}

// newProbeCmd is the child side of modelFlags.probe.
func newProbeCmd() *cobra.Command {
	var (
		mf      modelFlags
		rewrite string
	)
	cmd := &cobra.Command{
		Use:    "probe-model",
		Short:  "Load a model and run one batch (used in a child process before serving with a GPU provider)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := mf.config(0.25, nil)
			if err != nil {
				return err
			}
			if err := inference.ProbeRun(cfg, rewrite); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "ok")
			return nil
		},
	}
	mf.register(cmd.Flags())
	cmd.Flags().StringVar(&rewrite, "rewrite", "none", "graph rewrites: split, u8, reduce, comma-separated")
	cmd.Flags().IntVar(&mf.batch, "batch", 0, "batch the GPU graph is fixed to")
	return cmd
}
