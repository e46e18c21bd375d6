package main

import (
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cropstream/cropstream/dashboard"
	"github.com/cropstream/cropstream/fieldrun"
	"github.com/cropstream/cropstream/metrics"
	"github.com/cropstream/cropstream/pipeline"
)

func newRunCmd(g *globals) *cobra.Command {
	var (
		o      fieldrun.Options
		serve  fieldrun.ServeOptions
		stages string
		obs    metrics.ObserveConfig
		ui     dashboard.Page
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the pipeline: on a simulated field (--scenario), or serve stages until stopped",
		Long: `With --scenario, run everything in this process: the simulated camera ingests
the field into Kafka while detect, track and aggregate process it; when all is
drained the block's window is closed and a summary prints counts and yield,
calibrated on --samples hand-counted plants, beside the simulator's truth.
Without --data-dir or --brokers it uses a fresh embedded broker in a temporary
directory. Analytics rows go to ClickHouse with --clickhouse, else to
JSONEachRow files in --analytics-dir (default ./cropstream-analytics).

Without --scenario, serve the --stages (default all) on the broker until
SIGINT/SIGTERM: a deployment runs one stage per process and scales each by
starting more instances (each stage is a consumer group). The sink stage
writes to --clickhouse, else to files in --analytics-dir (default
<data-dir>/analytics).`,
		Example: `  cropstream run --scenario default
  cropstream run --scenario my-block.yaml --hand-counts counts.csv
  cropstream --brokers k1:9092 run --stages detect --threads 4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if stages != "" {
				o.Stages = strings.Split(stages, ",")
			}
			ui.Track = o.Track
			o.Observe, o.Attach = &obs, ui.Attach
			if o.ScenarioName == "" {
				return o.Serve(cmd.Context(), g.kafka, g.topo, serve)
			}
			o.SinkDir = "cropstream-analytics"
			o.Fresh = g.kafka.Embedded() && !cmd.Flag("data-dir").Changed
			if term.IsTerminal(int(os.Stderr.Fd())) {
				o.Progress = os.Stderr
			}
			o.CaptureNow = true
			rep, err := o.Run(cmd.Context(), g.kafka, g.topo)
			if err != nil {
				return err
			}
			fieldrun.PrintReport(cmd.OutOrStdout(), rep)
			fieldrun.PrintStages(cmd.OutOrStdout(), rep)
			ui.Wait(cmd.Context())
			return nil
		},
	}
	o.RegisterFlags(cmd.Flags(), "")
	cmd.Flags().StringVar(&stages, "stages", "", "stages to run: "+strings.Join(pipeline.AllStages, ",")+" (default all)")
	obs.RegisterFlags(cmd.Flags())
	ui.RegisterFlags(cmd.Flags())
	serve.RegisterFlags(cmd.Flags())
	return cmd
}
