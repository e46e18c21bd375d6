package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/benchmarks"
	"github.com/cropstream/cropstream/fieldrun"
)

func newBenchCmd(g *globals) *cobra.Command {
	var cfg benchmarks.AllConfig
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
			cfg.Log = cmd.ErrOrStderr()
			cfg.Pipeline = func(ctx context.Context, scenario string) (benchmarks.StageRate, error) {
				o := fieldrun.Options{Model: cfg.Model, ScenarioName: scenario}
				o.Samples, o.Timeout, o.Fresh = 5, 10*time.Minute, true
				rep, err := o.Run(ctx, g.kafka, g.topo)
				if err != nil {
					return benchmarks.StageRate{}, err
				}
				return benchmarks.PipelineRate(rep.Scenario, rep.Frames, rep.ElapsedS), nil
			}
			md, err := benchmarks.All(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), md)
			return nil
		},
	}
	cfg.RegisterFlags(cmd.Flags())
	var dc benchmarks.DetectConfig
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
			res, err := dc.Measure()
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), res)
		},
	}
	det.Flags().SortFlags = false
	dc.RegisterFlags(det.Flags())
	cmd.AddCommand(det)
	return cmd
}
