package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cropstream/cropstream/fieldrun"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/processors/aggregate"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/sinks"
)

func newRunCmd(g *globals) *cobra.Command {
	var (
		o      scenarioOpts
		stages string
		crop   string
		obs    observeFlags
		ui     uiFlags
		// idleGap and provisional close windows in a deployment.
		idleGap, provisional time.Duration
		// detectSession is the detect group's session timeout, liveSlice
		// its bound on a live frame's wait for backfill.
		detectSession, liveSlice time.Duration
		driftWindow              int
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
			ctx := cmd.Context()
			if stages != "" {
				o.stages = strings.Split(stages, ",")
			}
			if o.scenario != "" {
				o.sinkDir = "cropstream-analytics"
				o.fresh = g.kafka.Embedded() && !cmd.Flag("data-dir").Changed
				o.progress = term.IsTerminal(int(os.Stderr.Fd()))
				o.obs, o.flags, o.captureNow, o.ui = &obs, cmd.Flags(), true, &ui
				rep, err := runScenario(ctx, g, o)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				fieldrun.PrintReport(out, rep)
				fieldrun.PrintStages(out, rep)
				ui.wait(ctx)
				return nil
			}
			conn, _, err := g.openWithTopics(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			prof, err := crops.Load(crop)
			if err != nil {
				return err
			}
			cfg := pipeline.Config{Stages: o.stages, Track: track.Config{Params: o.track, IdleGap: idleGap, Default: prof},
				Aggregate: aggregate.Config{Default: prof, ProvisionalEvery: provisional}}
			if cfg.Runs(pipeline.StageDetect) {
				eng, err := o.mf.stageEngine(0.1)
				if err != nil {
					return err
				}
				defer eng.Close()
				if err := prof.CheckClasses(o.mf.model, eng.Info().Names); err != nil {
					return err
				}
				mon, err := o.mf.driftMonitor(driftWindow, eng.ID())
				if err != nil {
					return err
				}
				cfg.Detect = detect.Config{Detector: eng, SessionTimeout: detectSession, LiveSlice: liveSlice, Loader: o.mf.loader(0.1), Drift: mon, Decode: o.decode}
			}
			if cfg.Runs(pipeline.StageSink) {
				store, desc, err := o.sink.store(ctx, filepath.Join(g.kafka.DataDir, "analytics"))
				if err != nil {
					return err
				}
				defer store.Close()
				cfg.Sink = sinks.Config{Store: store}
				slog.Info("analytics sink", "store", desc)
			}
			pl, err := pipeline.New(cfg, conn)
			if err != nil {
				return err
			}
			if err := obs.start(ctx, cmd.Flags(), pl, conn, o.stages); err != nil {
				return err
			}
			stopUI, err := ui.start(cmd.Flags(), conn, pl, nil, o.track)
			if err != nil {
				return err
			}
			defer stopUI()
			slog.Info("serving stages", "stages", stages, "brokers", conn.Seeds)
			if err := pl.Run(ctx); err != nil && !errors.Is(err, ctx.Err()) {
				return err
			}
			return nil
		},
	}
	o.registerWith(cmd, "")
	cmd.Flags().StringVar(&stages, "stages", "", "stages to run: "+strings.Join(pipeline.AllStages, ",")+" (default all)")
	obs.register(cmd.Flags())
	ui.register(cmd.Flags())
	cmd.Flags().DurationVar(&detectSession, "detect-session-timeout", 10*time.Second,
		"how long the detect group waits for a silent (crashed) instance before its partitions move to another")
	cmd.Flags().DurationVar(&liveSlice, "detect-live-slice", 40*time.Millisecond,
		"while live cameras send frames, backfill batches are inferred in slices of about this long, live frames between them (negative: whole batches)")
	cmd.Flags().StringVar(&crop, "crop", "apple", "crop profile (name or YAML file) of blocks not in the field map (cropstream fields apply)")
	cmd.Flags().DurationVar(&idleGap, "idle-gap", track.DefaultIdleGap, "track stage: a camera silent this long has ended its pass (a live feed that stopped without an end marker)")
	cmd.Flags().IntVar(&driftWindow, "drift-window", 300, "detect stage: frames per camera compared with the model's drift reference, and per model-quality record")
	cmd.Flags().DurationVar(&provisional, "provisional-every", aggregate.DefaultProvisionalEvery, "aggregate stage: at most this often, a provisional estimate of a block whose pass is running")
	return cmd
}
