package benchmarks

import (
	"runtime"

	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/sinks/clickhouse"
)

// RegisterFlags registers `cropstream bench`'s flags: the model's, Out,
// Quick, ClickHouse and GPUFPS.
func (c *AllConfig) RegisterFlags(f *pflag.FlagSet) {
	c.Model.RegisterFlags(f)
	f.StringVar(&c.Out, "out", "benchmarks/bench", "directory for bench.md and bench.png")
	f.BoolVar(&c.Quick, "quick", false, "small runs (a smoke test, not figures to quote)")
	f.StringVar(&c.ClickHouse, "clickhouse", "", "native address (host:9000) of the ClickHouse server to measure the sink on, password from $"+clickhouse.PasswordEnv+" (default: a clickhouse-server of its own in a temporary directory)")
	f.Float64Var(&c.GPUFPS, "gpu-fps", 2300, "detect frames/s of one GPU for the capacity model (default: a YOLOv8n-sized network in float16 on one H100 with 14 cores decoding, the lowest of three runs; the shipped model did 2,460-3,239, benchmarks/results.md)")
}

// DetectConfig is `cropstream bench detect`: the detector, and the frames
// MeasureDetect pushes through it.
type DetectConfig struct {
	Model                  detect.ModelConfig
	Batch, Frames, Workers int
	Scenario               string
	// Rewrite, when its flag is given, are the graph rewrites; else the
	// engine is opened as the detect stage opens it.
	Rewrite string
	rewrite *pflag.Flag
}

// RegisterFlags registers the model's flags, then the measurement's.
func (c *DetectConfig) RegisterFlags(f *pflag.FlagSet) {
	c.Model.RegisterFlags(f)
	f.IntVar(&c.Batch, "batch", 16, "frames per inference batch")
	f.IntVar(&c.Frames, "frames", 1000, "frames to push through each measurement")
	f.IntVar(&c.Workers, "workers", runtime.NumCPU(), "decode workers")
	f.StringVar(&c.Scenario, "scenario", "default", "scenario whose frames are decoded")
	f.StringVar(&c.Rewrite, "rewrite", "", "graph rewrites, comma-separated: split (Split as Slice), u8 (uint8 input), reduce (per-anchor output), none (default: all on cuda, none on cpu)")
	c.rewrite = f.Lookup("rewrite")
}

// Measure opens the engine and runs MeasureDetect with it.
func (c DetectConfig) Measure() (*DetectBench, error) {
	m := c.Model
	m.Batch = c.Batch
	eng, err := c.engine(m)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	res, err := MeasureDetect(eng, c.Scenario, c.Batch, c.Frames, c.Workers)
	if err != nil {
		return nil, err
	}
	res.Provider, res.Rewrite = eng.Provider(), eng.Rewrite()
	return res, nil
}

func (c DetectConfig) engine(m detect.ModelConfig) (*inference.Engine, error) {
	if c.rewrite == nil || !c.rewrite.Changed {
		return m.Engine(0.25) // on cuda: the first graph variant that runs
	}
	rw, err := inference.ParseRewrite(c.Rewrite)
	if err != nil {
		return nil, err
	}
	if m.Provider == "cuda" {
		rw.StaticBatch = c.Batch
	}
	return m.NewEngine(0.25, rw)
}
