package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

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
}

func (m *modelFlags) register(f *pflag.FlagSet) {
	f.StringVar(&m.model, "model", inference.DefaultModel, "ONNX detection model (Ultralytics YOLOv8/YOLO11 layout or end-to-end)")
	f.StringVar(&m.ortLib, "ort-lib", "", "libonnxruntime.so (default $"+inference.LibEnv+", else "+inference.DefaultLib+" from ./scripts/setup.sh)")
	f.IntVar(&m.threads, "threads", 0, "ONNX Runtime threads per session (default: the cores divided among the sessions)")
	f.IntVar(&m.sessions, "sessions", 0, "model sessions run at once (default: for the detect stage on the CPU one per core, each with one thread and its own batches; else 1)")
	f.StringVar(&m.provider, "provider", "cpu", "execution provider: cpu, or cuda (ONNX Runtime's CUDA plugin provider; CUDA 13 and cuDNN 9 on LD_LIBRARY_PATH)")
	f.StringVar(&m.cudaLib, "cuda-lib", "", "libonnxruntime_providers_cuda.so (default $"+inference.CUDALibEnv+")")
}

func (m *modelFlags) config(scoreThreshold float32, rw *inference.Rewrite) inference.Config {
	return inference.Config{ModelPath: m.model, LibPath: m.ortLib, Threads: m.threads, Sessions: m.sessions, ScoreThreshold: scoreThreshold,
		Provider: m.provider, CUDALib: m.cudaLib, Rewrite: rw}
}

// gpuRewrites are tried in order: the CUDA plugin provider crashes (SIGSEGV,
// no error) on some operators, which vary with the graph, so each variant is
// first run in a child process.
var gpuRewrites = []string{"split,u8,reduce", "split,u8,pool", "split,u8", "split"}

func (m *modelFlags) engine(scoreThreshold float32) (*inference.Engine, error) {
	if m.provider != "cuda" {
		return inference.New(m.config(scoreThreshold, nil))
	}
	return m.gpuEngine(scoreThreshold)
}

// stageEngine is engine for the detect stage, which feeds each session its
// own share of a poll: on the CPU, unless --sessions or --threads say
// otherwise, one one-thread session per core (BenchmarkDetectStage on 2
// cores: median 96 frames/s against 87 for one two-thread session).
func (m *modelFlags) stageEngine(scoreThreshold float32) (*inference.Engine, error) {
	if m.provider != "cuda" {
		cfg := m.config(scoreThreshold, nil)
		if m.sessions == 0 && m.threads == 0 {
			cfg.Sessions, cfg.Threads = runtime.NumCPU(), 1
		}
		return inference.New(cfg)
	}
	return m.gpuEngine(scoreThreshold)
}

func (m *modelFlags) gpuEngine(scoreThreshold float32) (*inference.Engine, error) {
	for _, rw := range gpuRewrites {
		if err := m.probe(rw); err != nil {
			slog.Warn("GPU graph variant failed in a child process", "rewrite", rw, "err", err)
			continue
		}
		r, _ := parseRewrite(rw)
		slog.Info("detector on the GPU", "model", m.model, "rewrite", rw)
		return inference.New(m.config(scoreThreshold, r))
	}
	slog.Warn("the CUDA provider failed every graph variant; detecting on the CPU", "model", m.model)
	m.provider = "cpu"
	return inference.New(m.config(scoreThreshold, nil))
}

// probe loads the model with the rewrite and runs one batch in a child
// process (this binary, probe-model).
func (m *modelFlags) probe(rewrite string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"probe-model", "--model", m.model, "--provider", m.provider, "--rewrite", rewrite}
	if m.ortLib != "" {
		args = append(args, "--ort-lib", m.ortLib)
	}
	if m.cudaLib != "" {
		args = append(args, "--cuda-lib", m.cudaLib)
	}
	out, err := exec.CommandContext(ctx, exe, args...).CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return fmt.Errorf("%v: %s", err, lines[0])
	}
	return nil
}

func parseRewrite(s string) (*inference.Rewrite, error) {
	rw := &inference.Rewrite{}
	for _, r := range strings.Split(s, ",") {
		switch r {
		case "split":
			rw.SplitToSlice = true
		case "u8":
			rw.UInt8Input = true
		case "reduce":
			rw.ReduceOutput = true
		case "pool":
			rw.ReduceOutput, rw.PoolReduce = true, true
		case "", "none":
		default:
			return nil, fmt.Errorf("rewrite %q: want split, u8, reduce, pool or none", r)
		}
	}
	return rw, nil
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
			rw, err := parseRewrite(rewrite)
			if err != nil {
				return err
			}
			eng, err := inference.New(mf.config(0.25, rw))
			if err != nil {
				return err
			}
			defer eng.Close()
			if eng.Info().UInt8 {
				_, err = eng.RunUInt8(make([]byte, 2*eng.InputLen()), 2)
			} else {
				_, err = eng.Run(make([]float32, 2*eng.InputLen()), 2)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "ok")
			return nil
		},
	}
	mf.register(cmd.Flags())
	cmd.Flags().StringVar(&rewrite, "rewrite", "none", "graph rewrites: split, u8, reduce, comma-separated")
	return cmd
}
