package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/evaluation"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/processors/aggregate"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/simulator"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/topology"
)

// rowReport is one row of the eval report.
type rowReport struct {
	RowID         string  `json:"row_id"`
	TrueCount     int     `json:"true_count"`
	Counted       int     `json:"counted"`
	CountErrorPct float64 `json:"count_error_pct"`
	YieldTrueKg   float64 `json:"yield_true_kg"`
	YieldEstKg    float64 `json:"yield_est_kg"`
}

// evalReport is what `cropstream eval` prints; the top-level keys are the
// ones issue #5 names.
type evalReport struct {
	Scenario      string  `json:"scenario"`
	Seed          uint64  `json:"seed"`
	Block         string  `json:"block"`
	Frames        int     `json:"frames"`
	TrueCount     int     `json:"true_count"`
	Counted       int     `json:"counted"`
	CountErrorPct float64 `json:"count_error_pct"`
	YieldTrueKg   float64 `json:"yield_true_kg"`
	YieldEstKg    float64 `json:"yield_est_kg"`
	YieldLowKg    float64 `json:"yield_est_low_kg"`
	YieldHighKg   float64 `json:"yield_est_high_kg"`
	YieldErrorPct float64 `json:"yield_error_pct"`
	// YieldPerfectKg is what the same calibration gives a counter that
	// counts exactly the units visible from the camera: the part of the
	// yield error the sample plants alone cause (their share of visible
	// units differs from the block's).
	YieldPerfectKg       float64               `json:"yield_perfect_count_kg"`
	YieldPerfectErrorPct float64               `json:"yield_perfect_count_error_pct"`
	Visibility           float64               `json:"visibility_factor"`
	SamplePlants         []string              `json:"sample_plants"`
	MOTA                 float64               `json:"mota"`
	IDF1                 float64               `json:"idf1"`
	MOT                  evaluation.MOTResult  `json:"mot"`
	Rows                 []rowReport           `json:"rows"`
	DeadLetters          int64                 `json:"dead_letters"`
	ElapsedS             float64               `json:"elapsed_s"`
	Stages               map[string]stageStats `json:"stages"`
	Analytics            *analyticsReport      `json:"analytics,omitempty"`
	// labelled is the tracker's input with the truth, for eval calibrate.
	labelled track.Labelled
	classes  []string
}

// analyticsReport says where the sink stored the rows and how many.
type analyticsReport struct {
	Store string           `json:"store"`
	Rows  map[string]int64 `json:"rows"`
}

type stageStats struct {
	Records int64   `json:"records"`
	PerS    float64 `json:"per_s"`
}

func pct(got, want float64) float64 {
	if want == 0 {
		return 0
	}
	return 100 * (got - want) / want
}

// samplePlants picks n plants spread evenly over the block and writes what a
// grower would: every unit on the plant and their mean mass.
func samplePlants(l *simulator.Layout, n int) []crops.HandCount {
	var all []simulator.Plant
	for _, row := range l.Plants {
		all = append(all, row...)
	}
	var out []crops.HandCount
	for i := 0; i < n && i < len(all); i++ {
		pl := all[(2*i+1)*len(all)/(2*n)]
		var mass float64
		for _, ui := range pl.Units {
			mass += l.Units[ui].MassG
		}
		h := crops.HandCount{PlantID: pl.ID, Count: len(pl.Units)}
		if len(pl.Units) > 0 {
			h.MeanMassG = mass / float64(len(pl.Units))
		}
		out = append(out, h)
	}
	return out
}

// scenarioOpts configure a run of the pipeline on a simulated field.
type scenarioOpts struct {
	mf       modelFlags
	scenario string
	hand     string
	samples  int
	motDir   string
	timeout  time.Duration
	stages   []string
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
}

func (o *scenarioOpts) register(cmd *cobra.Command) {
	f := cmd.Flags()
	o.mf.register(f)
	o.sink.register(f, true)
	f.StringVar(&o.scenario, "scenario", "default", "scenario YAML file or builtin name")
	f.StringVar(&o.hand, "hand-counts", "", "CSV of hand-counted sample plants: plant_id,count[,mean_mass_g]")
	f.IntVar(&o.samples, "samples", 5, "without --hand-counts: plants counted and weighed from the truth for calibration")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up if the pipeline has not drained by then")
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
its 95 % interval, yield error; and tracking metrics (MOTA, IDF1) against the
simulator's MOT ground truth. Yield is calibrated on hand counts: a CSV
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
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}
		printReport(out, rep)
		fmt.Fprintf(out, "tracking: MOTA %.3f  IDF1 %.3f  (FN %d, FP %d, ID switches %d)\n", rep.MOTA, rep.IDF1, rep.MOT.FN, rep.MOT.FP, rep.MOT.IDSW)
		return nil
	}
	o.register(parent)
	parent.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	parent.Flags().StringVar(&o.motDir, "mot-dir", "", "also write det.txt, tracks.txt and gt.txt (MOTChallenge) here")
}

// runScenario runs ingest of a simulated field and the pipeline's stages,
// waits until everything is drained, closes the block's window and scores
// the result against the truth.
func runScenario(ctx context.Context, g *globals, o scenarioOpts) (*evalReport, error) {
	scenario, hand, samples, motDir, timeout, mf := o.scenario, o.hand, o.samples, o.motDir, o.timeout, o.mf
	start := time.Now()
	sc, err := simulator.Load(scenario)
	if err != nil {
		return nil, err
	}
	prof, err := crops.Load(sc.Crop)
	if err != nil {
		return nil, err
	}
	kcfg := g.kafka
	if o.fresh {
		dir, err := os.MkdirTemp("", "cropstream-eval-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		kcfg.DataDir, kcfg.Port = dir, 0
	}
	top, err := g.topology()
	if err != nil {
		return nil, err
	}
	conn, err := broker.Open(ctx, kcfg, top)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := ensureTopics(ctx, conn, top); err != nil {
		return nil, err
	}
	eng, err := mf.stageEngine(0.1)
	if err != nil {
		return nil, err
	}
	defer eng.Close()

	src := ingest.OpenScenario(sc)
	defer src.Close()
	var handCounts []crops.HandCount
	if hand != "" {
		f, err := os.Open(hand)
		if err != nil {
			return nil, err
		}
		handCounts, err = crops.ReadHandCounts(f)
		f.Close()
		if err != nil {
			return nil, err
		}
	} else {
		handCounts = samplePlants(src.Simulator().Layout(), samples)
	}
	truthBoxes := map[uint64][]simulator.Box{}
	var rendered atomic.Int64
	src.OnFrame = func(f *simulator.Frame) {
		truthBoxes[f.Sequence] = append([]simulator.Box(nil), f.Boxes...)
		rendered.Add(1)
	}

	stages := o.stages
	if len(stages) == 0 {
		stages = []string{pipeline.StageDetect, pipeline.StageTrack, pipeline.StageAggregate}
	}
	sink := o.sink
	if o.fresh && len(sink.ch.Addr) == 0 && (sink.dir != "" || o.sinkDir != "") {
		// A fresh broker numbers offsets from 0 again, and offsets are what
		// make the sink exact: each such run gets a directory of its own.
		base := sink.dir
		if base == "" {
			base = o.sinkDir
		}
		sink.dir = filepath.Join(base, time.Now().UTC().Format("run-20060102-150405.000"))
	}
	store, storeDesc, err := sink.store(ctx, o.sinkDir)
	if err != nil {
		return nil, err
	}
	if store != nil {
		defer store.Close()
		if o.fresh {
			if err := requireEmpty(ctx, store); err != nil {
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
		Sink:   sinks.Config{Store: store},
		Detect: detect.Config{Detector: eng},
		Track:  track.Config{Params: o.track},
		Aggregate: aggregate.Config{Blocks: map[string]aggregate.Block{sc.Block: {
			Profile: prof, PlantSpacingM: sc.PlantSpacingM, Plants: sc.PlantsPerRow, HandCounts: handCounts}}},
	}, conn)
	if err != nil {
		return nil, err
	}
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	perr := make(chan error, 1)
	go func() { perr <- pl.Run(pctx) }()

	client, err := conn.Client()
	if err != nil {
		return nil, err
	}
	var icfg ingest.Config
	scenarioDefaults(&icfg, sc, func(string) bool { return false })
	if o.progress {
		stopView := liveView(pctx, os.Stderr, conn, pl, &rendered)
		defer stopView()
	}
	in, err := ingest.New(icfg, client, top)
	if err != nil {
		client.Close()
		return nil, err
	}
	st, err := in.Run(ctx, src)
	client.Close()
	if err != nil {
		return nil, err
	}
	wctx, wcancel := context.WithTimeout(ctx, timeout)
	defer wcancel()
	drained := make(chan error, 1)
	go func() { drained <- pipeline.WaitDrained(wctx, conn, 500*time.Millisecond) }()
	select {
	case err := <-perr:
		return nil, fmt.Errorf("pipeline stopped: %v", err)
	case err := <-drained:
		if err != nil {
			return nil, fmt.Errorf("pipeline did not drain within %s: %w", timeout, err)
		}
	}
	if err := pipeline.CloseWindows(ctx, conn, map[string]string{sc.Block: sc.Field}); err != nil {
		return nil, err
	}
	var est *schema.YieldEstimate
	for est == nil {
		recs, err := pipeline.ReadAll(wctx, conn, topology.Yield, 500*time.Millisecond)
		if err != nil {
			return nil, fmt.Errorf("waiting for the yield estimate: %w", err)
		}
		for _, r := range recs {
			if y, err := schema.DecodeYieldEstimate(r.Value); err == nil && y.BlockId == sc.Block && y.Final {
				est = y
			}
		}
		if est == nil {
			time.Sleep(200 * time.Millisecond) // ReadAll returns at once while the topic is empty
		}
	}
	if pl.Sink != nil {
		if err := pipeline.WaitSinkDrained(wctx, conn, 500*time.Millisecond); err != nil {
			return nil, fmt.Errorf("analytics sink did not store everything: %w", err)
		}
	}
	stop()
	if err := <-perr; err != nil && !errors.Is(err, context.Canceled) {
		return nil, err
	}
	elapsed := time.Since(start)

	rep := evalReport{Scenario: sc.Name, Seed: sc.Seed, Block: sc.Block, Frames: st.Frames, ElapsedS: elapsed.Seconds(),
		Counted: int(est.UnitsCounted), YieldEstKg: est.YieldKg, YieldLowKg: est.YieldKgLow, YieldHighKg: est.YieldKgHigh,
		Visibility: est.VisibilityFactor, Stages: map[string]stageStats{}}
	for _, h := range handCounts {
		rep.SamplePlants = append(rep.SamplePlants, h.PlantID)
	}
	rep.Stages["ingest"] = stageStats{int64(st.Frames), float64(st.Frames) / st.Elapsed.Seconds()}
	stat := func(name string, n int64) {
		rep.Stages[name] = stageStats{n, float64(n) / elapsed.Seconds()}
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
		rep.Analytics = &analyticsReport{Store: storeDesc, Rows: pl.Sink.TableRows()}
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
	perfect := crops.EstimateYield(prof, truth.Totals.VisibleUnits, visible, handCounts)
	rep.YieldPerfectKg, rep.YieldPerfectErrorPct = perfect.YieldKg, pct(perfect.YieldKg, rep.YieldTrueKg)

	// Counted per row, from the objects the pipeline emitted.
	objs, err := pipeline.ReadAll(ctx, conn, topology.Objects, 500*time.Millisecond)
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
		rep.Rows = append(rep.Rows, rowReport{RowID: r.RowID, TrueCount: r.VisibleUnits, Counted: c,
			CountErrorPct: pct(float64(c), float64(r.VisibleUnits)), YieldTrueKg: r.YieldKg,
			YieldEstKg: float64(c) / math.Max(est.VisibilityFactor, 1e-9) * itemKg})
	}

	// Tracking metrics: the tracker replayed on the detections the
	// pipeline produced (the same code and parameters as the track stage).
	dets, err := pipeline.ReadAll(ctx, conn, topology.Detections, 500*time.Millisecond)
	if err != nil {
		return nil, err
	}
	ds := decodeDetections(dets)
	mot, err := scoreTracking(ds, truthBoxes, motDir, o.track)
	if err != nil {
		return nil, err
	}
	rep.MOT, rep.MOTA, rep.IDF1 = mot, mot.MOTA, mot.IDF1
	rep.labelled, rep.classes = labelled(ds, truth), truth.ClassNames

	return &rep, nil
}

// requireEmpty refuses a store that already holds rows when the run's
// broker is fresh: its offsets start at 0 again, so the sink would take the
// new records for ones it already stored and skip them.
func requireEmpty(ctx context.Context, store sinks.Store) error {
	if err := store.Prepare(ctx, sinks.Tables()); err != nil {
		return err
	}
	for _, t := range sinks.Tables() {
		have, err := store.Resume(ctx, t)
		if err != nil {
			return err
		}
		if len(have) > 0 {
			return fmt.Errorf("table %s already holds rows from another broker, and this run's fresh broker numbers offsets from 0 again: use another --clickhouse-db (or drop the database), or run on a persistent broker (--data-dir)", t.Name)
		}
	}
	return nil
}

// printReport prints the per-row counts and the block's yield.
func printReport(out io.Writer, rep *evalReport) {
	fmt.Fprintf(out, "scenario %s (seed %d, block %s): %d frames in %.1f s\n\n", rep.Scenario, rep.Seed, rep.Block, rep.Frames, rep.ElapsedS)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ROW\tVISIBLE UNITS\tCOUNTED\tCOUNT ERR %\tTRUE KG\tEST. KG\t")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%+.1f\t%.1f\t%.1f\t\n", r.RowID, r.TrueCount, r.Counted, r.CountErrorPct, r.YieldTrueKg, r.YieldEstKg)
	}
	fmt.Fprintf(tw, "block %s\t%d\t%d\t%+.1f\t%.1f\t%.1f\t\n", rep.Block, rep.TrueCount, rep.Counted, rep.CountErrorPct, rep.YieldTrueKg, rep.YieldEstKg)
	tw.Flush()
	fmt.Fprintf(out, "\nyield %.1f kg (95%% interval %.1f - %.1f), truth %.1f kg, error %+.1f%%; visibility factor %.3f from %d sample plants\n",
		rep.YieldEstKg, rep.YieldLowKg, rep.YieldHighKg, rep.YieldTrueKg, rep.YieldErrorPct, rep.Visibility, len(rep.SamplePlants))
	fmt.Fprintf(out, "a perfect count with the same sample plants: %.1f kg, error %+.1f%% (what sampling alone costs)\n", rep.YieldPerfectKg, rep.YieldPerfectErrorPct)
	if a := rep.Analytics; a != nil {
		var parts []string
		for _, t := range sinks.Tables() {
			parts = append(parts, fmt.Sprintf("%s %d", t.Name, a.Rows[t.Name]))
		}
		fmt.Fprintf(out, "analytics rows: %s -> %s\n", strings.Join(parts, ", "), a.Store)
	}
}

// labelled is the tracker's input from the pipeline's detections (in
// sequence order), with the units of each class visible from the camera.
func labelled(ds []*schema.Detections, truth *simulator.Truth) track.Labelled {
	var l track.Labelled
	for _, d := range ds {
		l.Frames = append(l.Frames, track.FrameOf(d))
	}
	l.Visible = make([]int, len(truth.ClassNames))
	for _, u := range truth.Units {
		if u.Visible && u.ClassID >= 0 && u.ClassID < len(l.Visible) {
			l.Visible[u.ClassID]++
		}
	}
	return l
}

// decodeDetections decodes the detections records that decode, in sequence
// order.
func decodeDetections(recs []*kgo.Record) []*schema.Detections {
	var ds []*schema.Detections
	for _, r := range recs {
		d, err := schema.DecodeDetections(r.Value)
		if err != nil {
			continue
		}
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Sequence < ds[j].Sequence })
	return ds
}

// scoreTracking replays the tracker on the pipeline's detections (in
// sequence order, from decodeDetections) and scores
// it against the truth; with dir set it writes MOTChallenge files. A track
// is reported from its first box once it is confirmed (the trajectories the
// tracker identified, as offline MOT results are): reported only from
// confirmation on, every track lost its first MinHits frames, a third of
// the frames an object is in view at 6 fps.
func scoreTracking(ds []*schema.Detections, truth map[uint64][]simulator.Box, dir string, params track.Params) (evaluation.MOTResult, error) {
	type hyp struct {
		box   evaluation.MOTBox
		class int
	}
	var detTxt, trkTxt, gtTxt []byte
	hyps := make([][]hyp, len(ds))
	gts := make([][]evaluation.MOTBox, len(ds))
	type pendingBox struct {
		frame int
		h     hyp
	}
	tentative := map[uint64][]pendingBox{} // a tentative track's boxes so far
	st := &track.State{}
	for i, d := range ds {
		frame := i + 1
		for _, x := range d.Detections {
			b := x.Box
			detTxt = fmt.Appendf(detTxt, "%d,-1,%.1f,%.1f,%.1f,%.1f,%.3f,%d,-1,-1\n", frame, b.X1, b.Y1, b.X2-b.X1, b.Y2-b.Y1, x.Score, x.ClassId+1)
		}
		st.Step(params, track.FrameOf(d))
		live := map[uint64]bool{}
		for _, t := range st.Tracks {
			live[t.ID] = true
			if t.Lost != 0 {
				continue
			}
			b := t.Box()
			h := hyp{evaluation.MOTBox{ID: int(t.ID), Box: inference.Detection{X1: float32(b.X1), Y1: float32(b.Y1), X2: float32(b.X2), Y2: float32(b.Y2)}}, t.Class}
			if !t.Confirmed {
				tentative[t.ID] = append(tentative[t.ID], pendingBox{i, h})
				continue
			}
			for _, pb := range tentative[t.ID] {
				hyps[pb.frame] = append(hyps[pb.frame], pb.h)
			}
			delete(tentative, t.ID)
			hyps[i] = append(hyps[i], h)
		}
		for id := range tentative {
			if !live[id] { // died tentative: never reported
				delete(tentative, id)
			}
		}
		W := float32(d.Width)
		for _, b := range truth[d.Sequence] {
			box := inference.Detection{X1: max(0, float32(b.Rect.Min.X)), Y1: float32(b.Rect.Min.Y), X2: min(W, float32(b.Rect.Max.X)), Y2: float32(b.Rect.Max.Y)}
			gts[i] = append(gts[i], evaluation.MOTBox{ID: b.UnitID, Box: box, Ignore: b.Visibility < simulator.VisibleThreshold})
			gtTxt = fmt.Appendf(gtTxt, "%d,%d,%d,%d,%d,%d,1,%d,%.3f\n", frame, b.UnitID, b.Rect.Min.X, b.Rect.Min.Y, b.Rect.Dx(), b.Rect.Dy(), b.ClassID+1, b.Visibility)
		}
	}
	ev := evaluation.NewMOTEval()
	for i := range ds {
		var hs []evaluation.MOTBox
		for _, h := range hyps[i] {
			hs = append(hs, h.box)
			b := h.box.Box
			trkTxt = fmt.Appendf(trkTxt, "%d,%d,%.1f,%.1f,%.1f,%.1f,1,%d,-1,-1\n", i+1, h.box.ID, b.X1, b.Y1, b.X2-b.X1, b.Y2-b.Y1, h.class+1)
		}
		ev.Add(gts[i], hs)
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return evaluation.MOTResult{}, err
		}
		for name, b := range map[string][]byte{"det.txt": detTxt, "tracks.txt": trkTxt, "gt.txt": gtTxt} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				return evaluation.MOTResult{}, err
			}
		}
	}
	return ev.Result(), nil
}
