package fieldrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/evaluation"
	"github.com/cropstream/cropstream/fieldmap"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/metrics"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/processors/aggregate"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/simulator"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/topology"
)

// Config is one run of a simulated field.
type Config struct {
	// Kafka says where the broker is; with Fresh, an embedded broker in a
	// temporary directory is started instead (its DataDir and Port ignored).
	Kafka    broker.Config
	Fresh    bool
	Topology *topology.Topology
	Scenario *simulator.Scenario
	// HandCounts calibrate the yield; nil: Samples plants spread over the
	// block, counted and weighed from the truth as a grower would.
	HandCounts []crops.HandCount
	Samples    int
	// Detector runs in the detect stage.
	Detector detect.Detector
	// Decode chooses the detect stage's JPEG decoder (detect.Config.Decode).
	Decode inference.DecoderConfig
	// Store receives the analytics rows (nil: no sink stage).
	Store     sinks.Store
	StoreDesc string
	// Stages run in this process; default detect, track, aggregate (and the
	// sink with a Store). Stages served elsewhere must run against Kafka.
	Stages []string
	Track  track.Params
	// IdleGap is the track stage's (default track.DefaultIdleGap).
	IdleGap time.Duration
	// MOTDir, when set, receives det.txt, tracks.txt and gt.txt.
	MOTDir string
	// ReplayFile, when set, receives the detections and truth of the run
	// (see Replay).
	ReplayFile string
	Timeout    time.Duration
	// CaptureStart is the first frame's capture time (zero: the scenario's).
	CaptureStart time.Time
	// Progress, when set, receives the live view's status line while the
	// stages run (metrics.LiveView).
	Progress io.Writer
	// Observe, when set, serves metrics and profiles while the stages run
	// (metrics.Observe; its Stages are those run here).
	Observe *metrics.ObserveConfig
	// Attach, when set, is called once the stages run, for what else watches
	// them (the live page); its stop is called when they have stopped.
	Attach func(conn *broker.Conn, pl *pipeline.Pipeline, ingested *atomic.Int64) (stop func(), err error)
}

// FieldBlock is the field map a grower would write for the scenario's block:
// its crop and rows, plants from the start of each row.
func FieldBlock(sc *simulator.Scenario) *schema.FieldBlock {
	fb := &schema.FieldBlock{FieldId: sc.Field, BlockId: sc.Block, Crop: sc.Crop, UpdatedUnixNs: time.Now().UnixNano()}
	for r := range sc.Rows {
		fb.Rows = append(fb.Rows, &schema.FieldRow{RowId: sc.RowID(r), Plants: uint32(sc.PlantsPerRow), PlantSpacingM: sc.PlantSpacingM})
	}
	return fb
}

// HandCountsRecord is hand counts as the hand-counts topic carries them.
func HandCountsRecord(sc *simulator.Scenario, hs []crops.HandCount) *schema.HandCounts {
	h := &schema.HandCounts{FieldId: sc.Field, BlockId: sc.Block, UpdatedUnixNs: time.Now().UnixNano()}
	for _, x := range hs {
		h.Plants = append(h.Plants, &schema.HandCount{PlantId: x.PlantID, Count: uint32(x.Count), MeanMassG: x.MeanMassG})
	}
	return h
}

// Run applies the scenario's field map and hand counts through their
// topics, ingests the simulated camera, runs the stages until the block's
// window closes by itself (every row passed) and scores the result against
// the simulator's truth.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	start := time.Now()
	sc := cfg.Scenario
	prof, err := crops.Load(sc.Crop)
	if err != nil {
		return nil, err
	}
	kcfg := cfg.Kafka
	if cfg.Fresh {
		dir, err := os.MkdirTemp("", "cropstream-eval-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		kcfg.DataDir, kcfg.Port, kcfg.Brokers = dir, 0, nil
	}
	conn, err := broker.Open(ctx, kcfg, cfg.Topology)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := broker.EnsureTopicsExist(ctx, conn, cfg.Topology); err != nil {
		return nil, err
	}

	src := ingest.OpenScenario(sc)
	defer src.Close()
	hand := cfg.HandCounts
	if hand == nil {
		hand = samplePlants(src.Simulator().Layout(), cfg.Samples)
	}
	if err := fieldmap.Publish(ctx, conn, []*schema.FieldBlock{FieldBlock(sc)}, []*schema.HandCounts{HandCountsRecord(sc, hand)}); err != nil {
		return nil, err
	}
	truthBoxes := map[uint64][]simulator.Box{}
	var rendered atomic.Int64
	src.OnFrame = func(f *simulator.Frame) {
		truthBoxes[f.Sequence] = append([]simulator.Box(nil), f.Boxes...)
		rendered.Add(1)
	}

	stages := cfg.Stages
	if len(stages) == 0 {
		stages = []string{pipeline.StageDetect, pipeline.StageTrack, pipeline.StageAggregate}
	}
	if cfg.Store != nil {
		if cfg.Fresh {
			if err := requireEmpty(ctx, cfg.Store); err != nil {
				return nil, err
			}
		}
		if !slices.Contains(stages, pipeline.StageSink) {
			stages = append(stages, pipeline.StageSink)
		}
	} else {
		stages = slices.DeleteFunc(slices.Clone(stages), func(s string) bool { return s == pipeline.StageSink })
	}
	pl, err := pipeline.New(pipeline.Config{
		Stages: stages,
		Sink:   sinks.Config{Store: cfg.Store},
		Detect: detect.Config{Detector: cfg.Detector, Decode: cfg.Decode},
		Track:  track.Config{Params: cfg.Track, IdleGap: cfg.IdleGap, Default: prof},
		// Provisional estimates as the pass runs, as a deployment emits them.
		Aggregate: aggregate.Config{Default: prof},
	}, conn)
	if err != nil {
		return nil, err
	}
	pctx, stop := context.WithCancel(ctx)
	var runErr error
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		runErr = pl.Run(pctx)
	}()
	// Every return below waits for the stages to stop: the detector is
	// closed by the caller after Run returns.
	defer func() {
		stop()
		<-stopped
	}()
	if cfg.Progress != nil {
		defer metrics.LiveView(pctx, cfg.Progress, conn, pl, &rendered)()
	}
	if cfg.Observe != nil {
		oc := *cfg.Observe
		oc.Stages = pl.Stages()
		if _, err := metrics.Observe(pctx, oc, pl, conn); err != nil {
			return nil, err
		}
	}
	if cfg.Attach != nil {
		detach, err := cfg.Attach(conn, pl, &rendered)
		if err != nil {
			return nil, err
		}
		defer detach()
	}

	client, err := conn.Client()
	if err != nil {
		return nil, err
	}
	var icfg ingest.Config
	ingest.ScenarioDefaults(&icfg, sc, func(string) bool { return false })
	if !cfg.CaptureStart.IsZero() {
		icfg.CaptureStart = cfg.CaptureStart
	}
	in, err := ingest.New(icfg, client, cfg.Topology)
	if err != nil {
		client.Close()
		return nil, err
	}
	st, err := in.Run(ctx, src)
	client.Close()
	if err != nil {
		return nil, err
	}
	wctx, wcancel := context.WithTimeout(ctx, cfg.Timeout)
	defer wcancel()
	type result struct {
		y   *schema.YieldEstimate
		err error
	}
	final := make(chan result, 1)
	go func() {
		y, err := WaitFinal(wctx, conn, sc.Block)
		final <- result{y, err}
	}()
	var est *schema.YieldEstimate
	select {
	case <-stopped:
		return nil, fmt.Errorf("pipeline stopped: %v", runErr)
	case r := <-final:
		if r.err != nil {
			return nil, fmt.Errorf("no final yield for block %s within %s: %w", sc.Block, cfg.Timeout, r.err)
		}
		est = r.y
	}
	if pl.Sink != nil {
		if err := pipeline.WaitSinkDrained(wctx, conn, 500*time.Millisecond); err != nil {
			return nil, fmt.Errorf("analytics sink did not store everything: %w", err)
		}
	}
	stop()
	<-stopped
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return nil, runErr
	}
	elapsed := time.Since(start)

	rep := Report{Scenario: sc.Name, Seed: sc.Seed, Block: sc.Block, Frames: st.Frames, ElapsedS: elapsed.Seconds(),
		Counted: int(est.UnitsCounted), YieldEstKg: est.YieldKg, YieldLowKg: est.YieldKgLow, YieldHighKg: est.YieldKgHigh,
		Visibility: est.VisibilityFactor, Stages: map[string]StageStats{}}
	for _, h := range hand {
		rep.SamplePlants = append(rep.SamplePlants, h.PlantID)
	}
	rep.Stages["ingest"] = StageStats{int64(st.Frames), float64(st.Frames) / st.Elapsed.Seconds()}
	stat := func(name string, n int64) {
		rep.Stages[name] = StageStats{n, float64(n) / elapsed.Seconds()}
	}
	if pl.Detect != nil {
		stat("detect", pl.Detect.Stats.Frames.Load())
		rep.DeadLetters += pl.Detect.Stats.DeadLetters.Load()
	}
	if pl.Track != nil {
		stat("track", pl.Track.Stats.Frames.Load())
		rep.DeadLetters += pl.Track.Stats.DeadLetters.Load()
	}
	if pl.Aggregate != nil {
		stat("aggregate", pl.Aggregate.Stats.Objects.Load())
		rep.DeadLetters += pl.Aggregate.Stats.DeadLetters.Load()
	}
	if pl.Sink != nil {
		stat("sink", pl.Sink.Stats.Rows.Load())
		rep.Analytics = &AnalyticsReport{Store: cfg.StoreDesc, Rows: pl.Sink.TableRows()}
	}

	truth := src.Simulator().Truth()
	rep.TrueCount, rep.YieldTrueKg = truth.Totals.VisibleUnits, truth.Totals.YieldKg
	rep.CountErrorPct = pct(float64(rep.Counted), float64(rep.TrueCount))
	rep.YieldErrorPct = pct(rep.YieldEstKg, rep.YieldTrueKg)
	visible := map[string]int{}
	for _, r := range truth.Rows {
		for _, p := range r.Plants {
			visible[p.PlantID] = p.VisibleUnits
		}
	}
	perfect := crops.EstimateYield(prof, truth.Totals.VisibleUnits, visible, hand, len(visible))
	rep.YieldPerfectKg, rep.YieldPerfectErrorPct = perfect.YieldKg, pct(perfect.YieldKg, rep.YieldTrueKg)

	// Counted per row, from the objects the pipeline emitted.
	objs, err := broker.ReadAll(ctx, conn, topology.Objects, 500*time.Millisecond)
	if err != nil {
		return nil, err
	}
	perRow := map[string]map[string]bool{}
	for _, r := range objs {
		o, err := schema.DecodeCountedObject(r.Value)
		if err != nil || o.Control != "" {
			continue
		}
		if perRow[o.RowId] == nil {
			perRow[o.RowId] = map[string]bool{}
		}
		perRow[o.RowId][o.ObjectId] = true
	}
	itemKg := 0.0
	if est.UnitsEstimated > 0 {
		itemKg = est.YieldKg / est.UnitsEstimated
	}
	for _, r := range truth.Rows {
		c := len(perRow[r.RowID])
		rep.Rows = append(rep.Rows, RowReport{RowID: r.RowID, TrueCount: r.VisibleUnits, Counted: c,
			CountErrorPct: pct(float64(c), float64(r.VisibleUnits)), YieldTrueKg: r.YieldKg,
			YieldEstKg: float64(c) / math.Max(est.VisibilityFactor, 1e-9) * itemKg})
	}

	// Tracking metrics: the tracker replayed on the detections the
	// pipeline produced (the same code and parameters as the track stage).
	dets, err := broker.ReadAll(ctx, conn, topology.Detections, 500*time.Millisecond)
	if err != nil {
		return nil, err
	}
	ds := decodeDetections(dets)
	tr, err := scoreTracking(ds, truthBoxes, cfg.MOTDir, cfg.Track, evaluation.ByteTrackConfig{PxPerM: sc.PixelsPerMetre(), FrameRate: sc.Camera.FPS})
	if err != nil {
		return nil, err
	}
	rep.MOT, rep.MOTA, rep.IDF1, rep.Tracking, rep.ByteTrack = tr.Own, tr.Own.MOTA, tr.Own.IDF1, tr.Standard, tr.ByteTrack
	rep.Labelled, rep.Classes = labelled(ds, truth), truth.ClassNames
	if cfg.ReplayFile != "" {
		rp := &Replay{Scenario: sc.Name, Seed: sc.Seed, PxPerM: sc.PixelsPerMetre(), FPS: sc.Camera.FPS, Truth: truthBoxes,
			VisibleByRow: map[string]int{}, CountScores: cfg.Track.CountScores}
		for _, d := range ds {
			b, err := schema.Encode(d)
			if err != nil {
				return nil, fmt.Errorf("replay: %w", err)
			}
			rp.Detections = append(rp.Detections, b)
		}
		for _, r := range truth.Rows {
			rp.VisibleByRow[r.RowID] = r.VisibleUnits
		}
		if err := WriteReplay(cfg.ReplayFile, rp); err != nil {
			return nil, err
		}
	}
	return &rep, nil
}

// WaitFinalWithin is WaitFinal for at most wait, with an error that says so
// when no final estimate came (`cropstream yield get`).
func WaitFinalWithin(ctx context.Context, conn *broker.Conn, block string, wait time.Duration) (*schema.YieldEstimate, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	y, err := WaitFinal(ctx, conn, block)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("block %s: no final estimate within %s", block, wait)
	}
	return y, err
}

// WaitFinal reads the yield topic until a final estimate of block arrives
// and returns the latest final one then.
func WaitFinal(ctx context.Context, conn *broker.Conn, block string) (*schema.YieldEstimate, error) {
	for {
		recs, err := broker.ReadAll(ctx, conn, topology.Yield, 500*time.Millisecond)
		if err != nil {
			return nil, err
		}
		var est *schema.YieldEstimate
		for _, r := range recs {
			if y, err := schema.DecodeYieldEstimate(r.Value); err == nil && y.BlockId == block && y.Final {
				est = y
			}
		}
		if est != nil {
			return est, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond): // ReadAll returns at once while the topic is empty
		}
	}
}

func pct(got, want float64) float64 {
	if want == 0 {
		return 0
	}
	return 100 * (got - want) / want
}
