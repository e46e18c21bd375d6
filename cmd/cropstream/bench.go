package main

import (
	"runtime"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/benchmarks"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/sinks/clickhouse"
)

func newBenchCmd(g *globals) *cobra.Command {
	var (
		amf    modelFlags
		out    string
		quick  bool
		gpuFPS float64
		chAddr string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure every stage and the whole pipeline on this machine; write bench.md, bench.png and a capacity model",
		Long: `Measures, on this machine: ingest into the embedded broker and back out
(100 KB frames), the detect stage's decode and inference (pipelined), the
track stage, the sink into ClickHouse (--clickhouse, or a clickhouse-server of
its own in a temporary directory), and the whole pipeline on a simulated field; and, in the
same run, each stage's raw limit: franz-go moving the same bytes, bare decode
and inference, the tracker alone, one Native insert of the same rows. Writes
--out/bench.md (figures, ratio to the raw limit and to 5 TB/day, share of each
stage in the cost, and the instances and partitions needed for 5 and 50
TB/day) and --out/bench.png. go test -bench ./benchmarks has the finer
benchmarks (sink batch sizes, latency, simulator).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return benchAll(cmd, g, amf, out, quick, gpuFPS, chAddr)
		},
	}
	amf.register(cmd.Flags())
	cmd.Flags().StringVar(&out, "out", "benchmarks/bench", "directory for bench.md and bench.png")
	cmd.Flags().BoolVar(&quick, "quick", false, "small runs (a smoke test, not figures to quote)")
	cmd.Flags().StringVar(&chAddr, "clickhouse", "", "native address (host:9000) of the ClickHouse server to measure the sink on, password from $"+clickhouse.PasswordEnv+" (default: a clickhouse-server of its own in a temporary directory)")
	cmd.Flags().Float64Var(&gpuFPS, "gpu-fps", 2300, "detect frames/s of one GPU for the capacity model (default: a YOLOv8n-sized network in float16 on one H100 with 14 cores decoding, the lowest of three runs; the shipped model did 2,460-3,239, benchmarks/results.md)")
	var (
		mf       modelFlags
		batch    int
		frames   int
		workers  int
		scenario string
		rewrite  string
	)
	det := &cobra.Command{
		Use:   "detect",
		Short: "Detector throughput with decode on this machine's cores: decode only, inference only, both pipelined",
		Long: `Renders distinct 1280x720 JPEG frames of a scenario, then measures
(1) decode + letterbox on --workers cores, (2) inference alone on ready
batches, (3) both pipelined: workers decode into batch buffers while the
engine runs the previous batch. Prints JSON. With --provider cuda the model is
rewritten for the GPU (Split as Slice, uint8 input, reduced output).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var eng *inference.Engine
			var err error
			mf.batch = batch
			if cmd.Flags().Changed("rewrite") {
				rw, perr := inference.ParseRewrite(rewrite)
				if perr != nil {
					return perr
				}
				if mf.provider == "cuda" {
					rw.StaticBatch = batch
				}
				eng, err = mf.newEngine(0.25, rw)
			} else {
				eng, err = mf.engine(0.25) // on cuda: the first graph variant that runs
			}
			if err != nil {
				return err
			}
			defer eng.Close()
			res, err := benchmarks.MeasureDetect(eng, scenario, batch, frames, workers)
			if err != nil {
				return err
			}
			res.Provider, res.Rewrite = eng.Provider(), eng.Rewrite()
			return printJSON(cmd.OutOrStdout(), res)
		},
	}
	mf.register(det.Flags())
	det.Flags().SortFlags = false
	det.Flags().IntVar(&batch, "batch", 16, "frames per inference batch")
	det.Flags().IntVar(&frames, "frames", 1000, "frames to push through each measurement")
	det.Flags().IntVar(&workers, "workers", runtime.NumCPU(), "decode workers")
	det.Flags().StringVar(&scenario, "scenario", "default", "scenario whose frames are decoded")
	det.Flags().StringVar(&rewrite, "rewrite", "", "graph rewrites, comma-separated: split (Split as Slice), u8 (uint8 input), reduce (per-anchor output), none (default: all on cuda, none on cpu)")
	cmd.AddCommand(det)
	return cmd
}
