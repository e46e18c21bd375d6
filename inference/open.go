package inference

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// GPURewrites are tried in order, each with the batch fixed: the CUDA plugin
// provider crashes (SIGSEGV, no error) on some graphs, so each variant is
// first run in a child process. With static shapes the first one ran
// YOLOv8n-sized and the shipped model on an H100 (benchmarks/results.md).
var GPURewrites = []string{"split,u8,pool", "split,u8,reduce", "split,u8", "split"}

// GPUSessions is how many sessions (CUDA streams, and detect-stage lanes) a
// GPU engine runs unless the config says otherwise: on an H100 one, two and
// three gave a YOLOv8n-sized model 1,400, 1,708-1,777 and 1,859 frames/s
// with decoding (benchmarks/results.md).
const GPUSessions = 3

// Probe runs one batch of the model with a GPURewrites variant in a child
// process and says whether it survived (see ProbeInChild).
type Probe func(rewrite string) error

// Open loads cfg's model. On CUDA it serves the first of GPURewrites that
// probe survives, with the batch fixed to cfg.Batch, else falls back to the
// CPU (Engine.Provider says which).
func Open(cfg Config, probe Probe) (*Engine, error) {
	if cfg.Provider != "cuda" {
		return New(cfg)
	}
	return openGPU(cfg, probe)
}

// OpenStage is Open for the detect stage, which feeds each session its own
// share of a poll: on the CPU, unless cfg sets Sessions or Threads, one
// one-thread session per core, which BenchmarkDetectStage found faster than
// one session with all the threads.
func OpenStage(cfg Config, probe Probe) (*Engine, error) {
	if cfg.Provider == "cuda" {
		return openGPU(cfg, probe)
	}
	if cfg.Sessions == 0 && cfg.Threads == 0 {
		cfg.Sessions, cfg.Threads = runtime.NumCPU(), 1
	}
	return New(cfg)
}

func openGPU(cfg Config, probe Probe) (*Engine, error) {
	for _, rw := range GPURewrites {
		if err := probe(rw); err != nil {
			slog.Warn("GPU graph variant failed in a child process", "rewrite", rw, "err", err)
			continue
		}
		r, err := ParseRewrite(rw)
		if err != nil {
			return nil, err
		}
		r.StaticBatch = gpuBatch(cfg)
		g := cfg
		g.Rewrite = r
		if g.Sessions == 0 {
			g.Sessions = GPUSessions
		}
		slog.Info("detector on the GPU", "model", cfg.ModelPath, "rewrite", rw, "batch", r.StaticBatch, "sessions", g.Sessions)
		return New(g)
	}
	slog.Warn("the CUDA provider failed every graph variant; detecting on the CPU", "model", cfg.ModelPath)
	cfg.Provider, cfg.Rewrite = "cpu", nil
	return New(cfg)
}

func gpuBatch(cfg Config) int {
	if cfg.Batch > 0 {
		return cfg.Batch
	}
	return DefaultGPUBatch
}

// ProbeInChild runs this executable with args, a command that loads a graph
// variant and runs one batch (ProbeRun), and returns its failure with the
// first line it printed: the CUDA provider kills the process on some graphs
// rather than returning an error.
func ProbeInChild(args ...string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, exe, args...).CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return fmt.Errorf("%v: %s", err, lines[0])
	}
	return nil
}

// ProbeRun is the child side of a probe: it loads cfg's model with rewrite
// (on CUDA with the batch fixed to cfg.Batch) and runs one batch of zeros.
func ProbeRun(cfg Config, rewrite string) error {
	rw, err := ParseRewrite(rewrite)
	if err != nil {
		return err
	}
	if cfg.Provider == "cuda" {
		rw.StaticBatch = gpuBatch(cfg)
	}
	cfg.Rewrite = rw
	eng, err := New(cfg)
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
	return err
}

// ParseRewrite reads graph rewrites, comma-separated: split, u8, reduce,
// pool, none.
func ParseRewrite(s string) (*Rewrite, error) {
	rw := &Rewrite{}
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

// ParseProviderOptions reads KEY=VALUE execution provider options; nil when
// there are none.
func ParseProviderOptions(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	opts := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--ep-option %q: want KEY=VALUE", kv)
		}
		opts[k] = v
	}
	return opts, nil
}
