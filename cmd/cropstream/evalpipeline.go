package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/fieldrun"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/sampleplan"
	"github.com/cropstream/cropstream/simulator"
)

// scenarioOpts configure a run of the pipeline on a simulated field.
type scenarioOpts struct {
	mf       modelFlags
	scenario string
	hand     string
	samples  int
	// sampleTarget, when set, replaces samples by the prior's sample plan.
	sampleTarget string
	motDir       string
	// replayFile receives the run's detections and truth (eval replay).
	replayFile string
	timeout    time.Duration
	stages     []string
	// fresh runs on a new embedded broker in a temporary directory.
	fresh    bool
	progress bool
	// sink says where analytics rows go; sinkDir is the file store's
	// directory when neither --clickhouse nor --analytics-dir is given ("":
	// no sink stage).
	sink    sinkFlags
	sinkDir string
	// track tunes the tracker (--count-scores).
	track track.Params
	// decode chooses the detect stage's JPEG decoder (--decoder).
	decode inference.DecoderConfig
	// obs, when set, serves /metrics (and profiles) while the field runs;
	// flags tell which of its flags were given.
	obs   *observeFlags
	flags *pflag.FlagSet
	// captureNow starts the frames' capture times at the time of the run
	// (a demo for dashboards), unless the scenario file gives start_time.
	captureNow bool
	// ui, when set, serves the live page while the field runs.
	ui *uiFlags
}

func (o *scenarioOpts) register(cmd *cobra.Command) { o.registerWith(cmd, "default") }

// registerWith registers the flags with scenario as --scenario's default.
func (o *scenarioOpts) registerWith(cmd *cobra.Command, scenario string) {
	f := cmd.Flags()
	o.mf.register(f)
	o.sink.register(f, true)
	f.StringVar(&o.scenario, "scenario", scenario, "scenario YAML file or builtin name")
	f.StringVar(&o.hand, "hand-counts", "", "CSV of hand-counted sample plants: plant_id,count[,mean_mass_g]")
	f.IntVar(&o.samples, "samples", 5, "without --hand-counts: plants counted and weighed from the truth for calibration")
	f.StringVar(&o.sampleTarget, "sample-target", "", "without --hand-counts: hand count as many plants as 'plan samples' advises for this 95 % half-width (5% or 0.05) from the crop profile's prior, instead of --samples")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up if the pipeline has not drained by then")
	f.StringVar(&o.decode.Mode, "decoder", inference.DecodeCPU, "detect stage's JPEG decoding: cpu, gpu (nvJPEG from $"+inference.NVJPEGDirEnv+" or the library path, for the GPU graph of --provider cuda; refused at start when it cannot serve), or auto (the GPU when it can serve, else the CPU)")
	f.Float64SliceVar(&o.track.CountScores, "count-scores", nil,
		"per class, the median score over its track at which an object counts (default: the model's count_scores metadata, else 0.5; measured by cropstream eval calibrate, see models/README.md)")
}

func newEvalPipeline(g *globals, parent *cobra.Command) {
	var (
		o      scenarioOpts
		asJSON bool
	)
	parent.Long = `Run the whole pipeline on a simulated field and score it against the truth:
simulator -> ingest -> embedded Kafka -> detect -> track -> aggregate.

Reports per row and for the block: units visible from the camera (the truth
for counting), units counted, count error, true yield, estimated yield with
its 95 % interval, yield error; and tracking metrics against the simulator's
MOT ground truth: the project's own MOTA/IDF1 (visible units only, trajectories
back-filled from before confirmation) and TrackEval's HOTA, MOTA, IDF1, ID
switches and fragmentations on every truth box and visible-only, online and
offline (see cropstream eval mot). Yield is calibrated on hand counts: a CSV
(--hand-counts plant_id,count[,mean_mass_g]) or, by default, --samples plants
counted and weighed from the truth, as a grower would.

Runs on a fresh embedded broker in a temporary directory unless --brokers is
given.`
	parent.Args = cobra.NoArgs
	parent.RunE = func(cmd *cobra.Command, _ []string) error {
		o.fresh = g.kafka.Embedded()
		rep, err := runScenario(cmd.Context(), g, o)
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		if asJSON {
			return printJSON(out, rep)
		}
		fieldrun.PrintReport(out, rep)
		fieldrun.PrintTracking(out, rep)
		return nil
	}
	o.register(parent)
	parent.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	parent.Flags().StringVar(&o.motDir, "mot-dir", "", "also write det.txt, tracks.txt, tracks-online.txt, bytetrack.txt and gt.txt (MOTChallenge) here")
	parent.Flags().StringVar(&o.replayFile, "replay-file", "", "also save the run's detections and truth here (JSON), for 'eval replay'")
}

// runScenario runs a simulated field through the production path
// (fieldrun): the flags become its config, the store and detector are built
// here.
func runScenario(ctx context.Context, g *globals, o scenarioOpts) (*fieldrun.Report, error) {
	sc, err := simulator.Load(o.scenario)
	if err != nil {
		return nil, err
	}
	top, err := g.topology()
	if err != nil {
		return nil, err
	}
	var hand []crops.HandCount
	if o.hand != "" {
		if hand, err = crops.ReadHandCountsFile(o.hand); err != nil {
			return nil, err
		}
	}
	samples := o.samples
	if o.sampleTarget != "" && hand == nil {
		tgt, err := sampleplan.ParseShare(o.sampleTarget)
		if err != nil {
			return nil, fmt.Errorf("--sample-target: %w", err)
		}
		if samples, err = sampleplan.PriorSamples(sc, tgt); err != nil {
			return nil, err
		}
	}
	eng, err := o.mf.stageEngine(0.1)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	sink := o.sink
	if base := cmp.Or(sink.dir, o.sinkDir); o.fresh && len(sink.ch.Addr) == 0 && base != "" {
		// A fresh broker numbers offsets from 0 again, and offsets are what
		// make the sink exact: each such run gets a directory of its own.
		sink.dir = filepath.Join(base, time.Now().UTC().Format("run-20060102-150405.000"))
	}
	store, storeDesc, err := sink.store(ctx, o.sinkDir)
	if err != nil {
		return nil, err
	}
	if store != nil {
		defer store.Close()
	}
	cfg := fieldrun.Config{Kafka: g.kafka, Fresh: o.fresh, Topology: top, Scenario: sc, HandCounts: hand, Samples: samples,
		Detector: eng, Decode: o.decode, Store: store, StoreDesc: storeDesc, Stages: o.stages, Track: o.track, MOTDir: o.motDir, ReplayFile: o.replayFile, Timeout: o.timeout}
	if o.captureNow {
		cfg.CaptureStart = sc.StartOrNow()
	}
	if o.progress {
		cfg.Progress = os.Stderr
	}
	if o.obs != nil {
		cfg.Observe = o.obs.config(o.flags)
	}
	if o.ui != nil {
		cfg.Attach = func(conn *broker.Conn, pl *pipeline.Pipeline, ingested *atomic.Int64) (func(), error) {
			return o.ui.start(o.flags, conn, pl, ingested, o.track)
		}
	}
	return fieldrun.Run(ctx, cfg)
}
