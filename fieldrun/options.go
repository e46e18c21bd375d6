package fieldrun

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/metrics"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/processors/aggregate"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/sampleplan"
	"github.com/cropstream/cropstream/simulator"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/stores"
	"github.com/cropstream/cropstream/topology"
)

// Options are a run as the commands take it: the scenario and hand counts
// by name, the detector and store by their flags. Run builds Config's
// Kafka, Topology, Scenario, HandCounts, Detector, Store and CaptureStart
// from them; its other fields are used as they are.
type Options struct {
	Config
	Model detect.ModelConfig
	// Sink says where analytics rows go; SinkDir is the file store's
	// directory when Sink names none ("": no sink stage).
	Sink    stores.Config
	SinkDir string
	// ScenarioName is a YAML file or builtin name, HandCountsFile a CSV.
	ScenarioName, HandCountsFile string
	// SampleTarget, when set, replaces Samples by the prior's sample plan.
	SampleTarget string
	// CaptureNow starts the frames' capture times at the time of the run
	// (a demo for dashboards), unless the scenario file gives start_time.
	CaptureNow bool
}

// RegisterFlags registers the flags of a run with scenario as --scenario's
// default.
func (o *Options) RegisterFlags(f *pflag.FlagSet, scenario string) {
	o.Model.RegisterFlags(f)
	o.Sink.RegisterFlags(f, true)
	f.StringVar(&o.ScenarioName, "scenario", scenario, "scenario YAML file or builtin name")
	f.StringVar(&o.HandCountsFile, "hand-counts", "", "CSV of hand-counted sample plants: plant_id,count[,mean_mass_g]")
	f.IntVar(&o.Samples, "samples", 5, "without --hand-counts: plants counted and weighed from the truth for calibration")
	f.StringVar(&o.SampleTarget, "sample-target", "", "without --hand-counts: hand count as many plants as 'plan samples' advises for this 95 % half-width (5% or 0.05) from the crop profile's prior, instead of --samples")
	f.DurationVar(&o.Timeout, "timeout", 10*time.Minute, "give up if the pipeline has not drained by then")
	f.StringVar(&o.Decode.Mode, "decoder", inference.DecodeCPU, "detect stage's JPEG decoding: cpu, gpu (nvJPEG from $"+inference.NVJPEGDirEnv+" or the library path, for the GPU graph of --provider cuda; refused at start when it cannot serve), or auto (the GPU when it can serve, else the CPU)")
	f.Float64SliceVar(&o.Track.CountScores, "count-scores", nil,
		"per class, the median score over its track at which an object counts (default: the model's count_scores metadata, else 0.5; measured by cropstream eval calibrate, see models/README.md)")
}

// Run loads what o names, opens the detector and the store, and runs the
// field (Run).
func (o Options) Run(ctx context.Context, kafka broker.Config, topo topology.Config) (*Report, error) {
	cfg := o.Config
	sc, err := simulator.Load(o.ScenarioName)
	if err != nil {
		return nil, err
	}
	if cfg.Topology, err = topology.New(topo); err != nil {
		return nil, err
	}
	if o.HandCountsFile != "" {
		if cfg.HandCounts, err = crops.ReadHandCountsFile(o.HandCountsFile); err != nil {
			return nil, err
		}
	}
	if o.SampleTarget != "" && cfg.HandCounts == nil {
		tgt, err := sampleplan.ParseShare(o.SampleTarget)
		if err != nil {
			return nil, fmt.Errorf("--sample-target: %w", err)
		}
		if cfg.Samples, err = sampleplan.PriorSamples(sc, tgt); err != nil {
			return nil, err
		}
	}
	eng, err := o.Model.StageEngine(0.1)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	sink := o.Sink
	if base := cmp.Or(sink.Dir, o.SinkDir); o.Fresh && len(sink.ClickHouse.Addr) == 0 && base != "" {
		// A fresh broker numbers offsets from 0 again, and offsets are what
		// make the sink exact: each such run gets a directory of its own.
		sink.Dir = filepath.Join(base, time.Now().UTC().Format("run-20060102-150405.000"))
	}
	if cfg.Store, cfg.StoreDesc, err = sink.Open(ctx, o.SinkDir); err != nil {
		return nil, err
	}
	if cfg.Store != nil {
		defer cfg.Store.Close()
	}
	cfg.Kafka, cfg.Scenario, cfg.Detector = kafka, sc, eng
	if o.CaptureNow {
		cfg.CaptureStart = sc.StartOrNow()
	}
	return Run(ctx, cfg)
}

// ServeOptions are how `cropstream run` without a scenario serves its
// stages, beside Options' detector, store, stages, count scores and decoder.
type ServeOptions struct {
	// Crop is the profile of blocks not in the field map.
	Crop string
	// IdleGap and ProvisionalEvery close windows in a deployment.
	IdleGap, ProvisionalEvery time.Duration
	// DetectSession is the detect group's session timeout, LiveSlice its
	// bound on a live frame's wait for backfill.
	DetectSession, LiveSlice time.Duration
	DriftWindow              int
}

// RegisterFlags registers the serving flags with their defaults.
func (s *ServeOptions) RegisterFlags(f *pflag.FlagSet) {
	f.DurationVar(&s.DetectSession, "detect-session-timeout", 10*time.Second,
		"how long the detect group waits for a silent (crashed) instance before its partitions move to another")
	f.DurationVar(&s.LiveSlice, "detect-live-slice", 40*time.Millisecond,
		"while live cameras send frames, backfill batches are inferred in slices of about this long, live frames between them (negative: whole batches)")
	f.StringVar(&s.Crop, "crop", "apple", "crop profile (name or YAML file) of blocks not in the field map (cropstream fields apply)")
	f.DurationVar(&s.IdleGap, "idle-gap", track.DefaultIdleGap, "track stage: a camera silent this long has ended its pass (a live feed that stopped without an end marker)")
	f.IntVar(&s.DriftWindow, "drift-window", 300, "detect stage: frames per camera compared with the model's drift reference, and per model-quality record")
	f.DurationVar(&s.ProvisionalEvery, "provisional-every", aggregate.DefaultProvisionalEvery, "aggregate stage: at most this often, a provisional estimate of a block whose pass is running")
}

// Serve runs o.Stages (default all) on Kafka until ctx ends, as one process
// of a deployment: with metrics (o.Observe) and o.Attach; the sink's files
// default to DataDir/analytics.
func (o Options) Serve(ctx context.Context, kafka broker.Config, topo topology.Config, s ServeOptions) error {
	conn, _, err := broker.OpenWithTopics(ctx, kafka, topo)
	if err != nil {
		return err
	}
	defer conn.Close()
	prof, err := crops.Load(s.Crop)
	if err != nil {
		return err
	}
	cfg := pipeline.Config{Stages: o.Stages, Track: track.Config{Params: o.Track, IdleGap: s.IdleGap, Default: prof},
		Aggregate: aggregate.Config{Default: prof, ProvisionalEvery: s.ProvisionalEvery}}
	if cfg.Runs(pipeline.StageDetect) {
		eng, err := o.Model.StageEngine(0.1)
		if err != nil {
			return err
		}
		defer eng.Close()
		if err := prof.CheckClasses(o.Model.ModelPath, eng.Info().Names); err != nil {
			return err
		}
		mon, err := o.Model.DriftMonitor(s.DriftWindow, eng.ID())
		if err != nil {
			return err
		}
		cfg.Detect = detect.Config{Detector: eng, SessionTimeout: s.DetectSession, LiveSlice: s.LiveSlice, Loader: o.Model.Loader(0.1), Drift: mon, Decode: o.Decode}
	}
	if cfg.Runs(pipeline.StageSink) {
		store, desc, err := o.Sink.Open(ctx, filepath.Join(kafka.DataDir, "analytics"))
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
	if o.Observe != nil {
		oc := *o.Observe
		oc.Stages = o.Stages
		if _, err := metrics.Observe(ctx, oc, pl, conn); err != nil {
			return err
		}
	}
	if o.Attach != nil {
		detach, err := o.Attach(conn, pl, nil)
		if err != nil {
			return err
		}
		defer detach()
	}
	slog.Info("serving stages", "stages", strings.Join(o.Stages, ","), "brokers", conn.Seeds)
	if err := pl.Run(ctx); err != nil && !errors.Is(err, ctx.Err()) {
		return err
	}
	return nil
}
