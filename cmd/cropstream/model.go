package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
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

func (m *modelFlags) providerOptions() (map[string]string, error) {
	if len(m.epOptions) == 0 {
		return nil, nil
	}
	opts := map[string]string{}
	for _, kv := range m.epOptions {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--ep-option %q: want KEY=VALUE", kv)
		}
		opts[k] = v
	}
	return opts, nil
}

func (m *modelFlags) config(scoreThreshold float32, rw *inference.Rewrite) (inference.Config, error) {
	opts, err := m.providerOptions()
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

// gpuBatch is the batch GPU graphs are fixed to.
func (m *modelFlags) gpuBatch() int {
	if m.batch > 0 {
		return m.batch
	}
	return inference.DefaultGPUBatch
}

// gpuRewrites are tried in order, each with the batch fixed: the CUDA plugin
// provider crashes (SIGSEGV, no error) on some graphs, so each variant is
// first run in a child process. With static shapes the first one ran
// YOLOv8n-sized and the shipped model on an H100 (benchmarks/results.md).
var gpuRewrites = []string{"split,u8,pool", "split,u8,reduce", "split,u8", "split"}

// gpuSessions is how many sessions (CUDA streams, and detect-stage lanes)
// a GPU engine runs unless --sessions says otherwise: on an H100 one, two
// and three gave a YOLOv8n-sized model 1,400, 1,708-1,777 and 1,859
// frames/s with decoding (benchmarks/results.md).
const gpuSessions = 3

func (m *modelFlags) engine(scoreThreshold float32) (*inference.Engine, error) {
	if m.provider != "cuda" {
		return m.newEngine(scoreThreshold, nil)
	}
	return m.gpuEngine(scoreThreshold)
}

// stageEngine is engine for the detect stage, which feeds each session its
// own share of a poll: on the CPU, unless --sessions or --threads say
// otherwise, one one-thread session per core, which BenchmarkDetectStage
// found faster than one session with all the threads.
func (m *modelFlags) stageEngine(scoreThreshold float32) (*inference.Engine, error) {
	if m.provider != "cuda" {
		cfg, err := m.config(scoreThreshold, nil)
		if err != nil {
			return nil, err
		}
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
		r.StaticBatch = m.gpuBatch()
		g := *m
		if g.sessions == 0 {
			g.sessions = gpuSessions
		}
		slog.Info("detector on the GPU", "model", m.model, "rewrite", rw, "batch", r.StaticBatch, "sessions", g.sessions)
		return g.newEngine(scoreThreshold, r)
	}
	slog.Warn("the CUDA provider failed every graph variant; detecting on the CPU", "model", m.model)
	m.provider = "cpu"
	return m.newEngine(scoreThreshold, nil)
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
	args := []string{"probe-model", "--model", m.model, "--provider", m.provider, "--rewrite", rewrite, "--batch", strconv.Itoa(m.gpuBatch())}
	for _, o := range m.epOptions {
		args = append(args, "--ep-option", o)
	}
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
			if mf.provider == "cuda" {
				rw.StaticBatch = mf.gpuBatch()
			}
			eng, err := mf.newEngine(0.25, rw)
			if err != nil {
				return err
			}
			defer eng.Close()
			n := 2
			if b := eng.Info().FixedBatch; b > 0 {
				n = b
			}
			if eng.Info().UInt8 {
				_, err = eng.RunUInt8(make([]byte, n*eng.InputLen()), n)
			} else {
				_, err = eng.Run(make([]float32, n*eng.InputLen()), n)
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
	cmd.Flags().IntVar(&mf.batch, "batch", 0, "batch the GPU graph is fixed to")
	return cmd
}
