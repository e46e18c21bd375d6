package main

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/benchmarks"
	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/topology"
)

// stageRate is one measured stage: frames per second of one instance.
type stageRate struct {
	Name   string
	FPS    float64
	MBps   float64
	Detail string
	// Per is what one instance is: "2 cores", "one core", ...
	Per string
}

// benchAll measures each stage on this machine and the whole pipeline, and
// writes bench.md and bench.png with a capacity model.
func benchAll(cmd *cobra.Command, g *globals, mf modelFlags, out string, quick bool, gpuFPS float64) error {
	ctx := cmd.Context()
	say := func(f string, a ...any) { fmt.Fprintf(cmd.ErrOrStderr(), f+"\n", a...) }
	n := func(full, small int) int {
		if quick {
			return small
		}
		return full
	}
	cores := runtime.NumCPU()
	var rates []stageRate

	say("bench: ingest -> broker -> consumer group, 100 KB frames")
	dir, err := os.MkdirTemp("", "cropstream-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var it benchmarks.Throughput
	err = onFreshBroker(ctx, func(conn *broker.Conn, top *topology.Topology) (err error) {
		it, err = benchmarks.IngestThroughput(ctx, conn, top, 100_000, n(6000, 800), 4)
		return err
	})
	if err != nil {
		return fmt.Errorf("bench ingest: %w", err)
	}
	rates = append(rates, stageRate{"ingest + broker", it.FPS(), it.MBps(), "4 cameras, embedded broker on disk, one consumer group", fmt.Sprintf("%d cores", cores)})

	say("bench: detect stage (frames from the broker: decode, letterbox, inference in lanes, produce, commit)")
	det, err := benchDetectStage(ctx, mf, n(640, 96))
	if err != nil {
		return fmt.Errorf("bench detect: %w", err)
	}
	rates = append(rates, det)

	say("bench: track stage (detections from the broker, tracker state in the goka table)")
	tr, err := benchTrackStage(ctx, n(8000, 800))
	if err != nil {
		return fmt.Errorf("bench track: %w", err)
	}
	tf := benchmarks.TrackFrames(2000, 30)
	rates = append(rates, stageRate{"track", tr.FPS(), 0, fmt.Sprintf("8 cameras, ~30 detections a frame; the tracker alone %.0f frames/s on one core",
		benchmarks.TrackerFPS(tf, n(20000, 4000))), fmt.Sprintf("%d cores", runtime.NumCPU())})

	say("bench: whole pipeline on a simulated field")
	o := scenarioOpts{mf: mf, scenario: "default", samples: 5, timeout: 10 * time.Minute, fresh: true}
	if quick {
		f := filepath.Join(dir, "quick.yaml")
		if err := os.WriteFile(f, []byte(quickScenario), 0o644); err != nil {
			return err
		}
		o.scenario = f
	}
	rep, err := runScenario(ctx, g, o)
	if err != nil {
		return fmt.Errorf("bench pipeline: %w", err)
	}
	e2e := float64(rep.Frames) / rep.ElapsedS
	rates = append(rates, stageRate{"whole pipeline", e2e, 0,
		fmt.Sprintf("scenario %s, %d frames in %.1f s, simulator + ingest + all stages in one process", rep.Scenario, rep.Frames, rep.ElapsedS), fmt.Sprintf("%d cores", cores)})

	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	md := benchMarkdown(rates, gpuFPS, cores)
	if err := os.WriteFile(filepath.Join(out, "bench.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if err := benchPlot(filepath.Join(out, "bench.png"), rates); err != nil {
		return err
	}
	fmt.Fprint(cmd.OutOrStdout(), md)
	say("bench: wrote %s and %s", filepath.Join(out, "bench.md"), filepath.Join(out, "bench.png"))
	return nil
}

// benchDetectStage runs the detect stage as `run` does (the stage's engine,
// lanes and batches) on frames of the default scenario in a fresh embedded
// broker.
func benchDetectStage(ctx context.Context, mf modelFlags, frames int) (stageRate, error) {
	jpgs, err := renderJPEGs("default", 48)
	if err != nil {
		return stageRate{}, err
	}
	eng, err := mf.stageEngine(0.1)
	if err != nil {
		return stageRate{}, err
	}
	defer eng.Close()
	var r benchmarks.DetectResult
	err = onFreshBroker(ctx, func(conn *broker.Conn, top *topology.Topology) (err error) {
		r, err = benchmarks.DetectStage(ctx, conn, top, eng, jpgs, 4, frames)
		return err
	})
	if err != nil {
		return stageRate{}, err
	}
	info := eng.Info()
	return stageRate{"detect", r.FPS(), r.MBps(),
		fmt.Sprintf("%s %dx%d, %s provider, %d session(s), %.1f frames a batch; %.1f ms decode and %.1f ms inference per frame (wall time in its lane)",
			eng.Name(), info.Width, info.Height, mf.provider, eng.Sessions(), r.FramesPerBatch, r.DecodeMs, r.InferMs),
		fmt.Sprintf("%d cores", runtime.NumCPU())}, nil
}

// benchTrackStage runs the track stage on a fresh embedded broker.
func benchTrackStage(ctx context.Context, frames int) (t benchmarks.Throughput, err error) {
	err = onFreshBroker(ctx, func(conn *broker.Conn, top *topology.Topology) (err error) {
		t, err = benchmarks.TrackStage(ctx, conn, top, 8, frames)
		return err
	})
	return t, err
}

// onFreshBroker runs f on an embedded broker of its own, on disk in a
// temporary directory, with the topology's topics: each measurement starts
// from empty topics.
func onFreshBroker(ctx context.Context, f func(*broker.Conn, *topology.Topology) error) error {
	dir, err := os.MkdirTemp("", "cropstream-bench-broker-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	top, err := topology.New(topology.Config{})
	if err != nil {
		return err
	}
	conn, err := broker.Open(ctx, broker.Config{DataDir: dir}, top)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := ensureTopics(ctx, conn, top); err != nil {
		return err
	}
	return f(conn, top)
}

const quickScenario = `seed: 5
crop: apple
block: Q1
rows: 1
plants_per_row: 3
plant_spacing_m: 1.5
units_per_plant: {mean: 30, sd: 5}
unit_mass_g: {mean: 180, sd: 25}
occlusion: 0.3
camera: {id: cam-q, speed_mps: 1.5, fps: 10, width: 640, height: 360, jitter_px: 2, drop_rate: 0.02}
lighting: {min: 0.7, max: 1.1}
`

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if i := strings.Index(l, ":"); i >= 0 {
				return strings.TrimSpace(l[i+1:])
			}
		}
	}
	return runtime.GOARCH
}

// benchMarkdown renders the figures, the ratio to 5 TB/day and the capacity
// model: instances of each stage (as measured, one per row's "per") for 5
// and 50 TB/day of 100 KB frames.
func benchMarkdown(rates []stageRate, gpuFPS float64, cores int) string {
	const frame = benchmarks.FrameBytes
	targets := []float64{benchmarks.TargetFPS, 10 * benchmarks.TargetFPS}
	var b strings.Builder
	fmt.Fprintf(&b, "# cropstream bench\n\nMachine: %s, %d cores, %s/%s, Go %s; %s.\n\n", cpuModel(), cores, runtime.GOOS, runtime.GOARCH, runtime.Version(), time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "5 TB/day of 100 KB frames is %.0f frames/s (%.1f MB/s); 50 TB/day is %.0f frames/s.\n\n", targets[0], targets[0]*frame/1e6, targets[1])
	b.WriteString("| stage | frames/s | MB/s | × 5 TB/day | one instance | how |\n| --- | --- | --- | --- | --- | --- |\n")
	var costSum float64
	for _, r := range rates {
		mb := "—"
		if r.MBps > 0 {
			mb = fmt.Sprintf("%.0f", r.MBps)
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %.2f | %s | %s |\n", r.Name, r.FPS, mb, r.FPS/targets[0], r.Per, r.Detail)
		if r.Name != "whole pipeline" {
			costSum += coreSecondsPerFrame(r, cores)
		}
	}
	b.WriteString("\nShare of the processing cost per frame (core-seconds per frame of each stage, isolated):\n\n")
	for _, r := range rates {
		if r.Name == "whole pipeline" {
			continue
		}
		c := coreSecondsPerFrame(r, cores)
		fmt.Fprintf(&b, "- %s: %.2f core-ms per frame, %.1f %%\n", r.Name, 1000*c, 100*c/costSum)
	}
	b.WriteString("\n## Capacity model\n\nInstances of each stage as measured here (each row's \"one instance\"), rounded up, plus\nthe partitions that let them all work (at least one per instance of the widest stage, and\nper camera for ordering):\n\n")
	b.WriteString("| stage | 5 TB/day | 50 TB/day |\n| --- | --- | --- |\n")
	widest := [2]int{}
	for _, r := range rates {
		if r.Name == "whole pipeline" {
			continue
		}
		var cells []string
		for i, t := range targets {
			k := int(math.Ceil(t / r.FPS))
			widest[i] = max(widest[i], k)
			cells = append(cells, fmt.Sprintf("%d × %s", k, r.Per))
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.Name, cells[0], cells[1])
	}
	if gpuFPS > 0 {
		fmt.Fprintf(&b, "| detect on GPUs (%.0f frames/s per GPU, from --gpu-fps) | %d GPU | %d GPUs |\n", gpuFPS,
			int(math.Ceil(targets[0]/gpuFPS)), int(math.Ceil(targets[1]/gpuFPS)))
	}
	p := func(k int) int {
		n := 12
		for n < 2*k {
			n *= 2
		}
		return n
	}
	fmt.Fprintf(&b, "| frames/detections partitions (2 per instance of the widest stage, at least the default 12) | %d | %d |\n", p(widest[0]), p(widest[1]))
	return b.String()
}

// coreSecondsPerFrame is what one frame costs a stage in CPU time.
func coreSecondsPerFrame(r stageRate, cores int) float64 {
	c := float64(cores)
	if r.Per == "one core" {
		c = 1
	}
	return c / r.FPS
}

// benchPlot draws frames/s per stage on a log scale against the 5 and
// 50 TB/day rates.
func benchPlot(path string, rates []stageRate) error {
	const w, h, left, bottom, top = 900, 420, 190, 60, 40
	img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(255, 255, 255, 0), h, w, gocv.MatTypeCV8UC3)
	defer img.Close()
	lo, hi := 1.0, 5.0 // log10 frames/s axis: 10 .. 100,000
	x := func(v float64) int {
		l := math.Log10(max(v, 10))
		return left + int(float64(w-left-30)*(l-lo)/(hi-lo))
	}
	black, grey := color.RGBA{0, 0, 0, 0}, color.RGBA{200, 200, 200, 0}
	for e := lo; e <= hi; e++ {
		xx := x(math.Pow(10, e))
		gocv.Line(&img, image.Pt(xx, top), image.Pt(xx, h-bottom), grey, 1)
		gocv.PutText(&img, fmt.Sprintf("%.0f", math.Pow(10, e)), image.Pt(xx-20, h-bottom+20), gocv.FontHersheySimplex, 0.45, black, 1)
	}
	bar := (h - top - bottom) / len(rates)
	for i, r := range rates {
		y := top + i*bar
		gocv.Rectangle(&img, image.Rect(left, y+6, x(r.FPS), y+bar-6), color.RGBA{60, 130, 200, 0}, -1)
		gocv.PutText(&img, r.Name, image.Pt(10, y+bar/2+5), gocv.FontHersheySimplex, 0.5, black, 1)
		gocv.PutText(&img, fmt.Sprintf("%.0f/s", r.FPS), image.Pt(x(r.FPS)+6, y+bar/2+5), gocv.FontHersheySimplex, 0.45, black, 1)
	}
	for _, t := range []struct {
		fps  float64
		name string
		c    color.RGBA
	}{{benchmarks.TargetFPS, "5 TB/day", color.RGBA{0, 0, 220, 0}}, {10 * benchmarks.TargetFPS, "50 TB/day", color.RGBA{0, 120, 0, 0}}} {
		xx := x(t.fps)
		gocv.Line(&img, image.Pt(xx, top-10), image.Pt(xx, h-bottom), t.c, 2)
		gocv.PutText(&img, t.name, image.Pt(xx-30, top-15), gocv.FontHersheySimplex, 0.45, t.c, 1)
	}
	gocv.PutText(&img, "frames/s of one instance (log scale), 100 KB frames", image.Pt(left, h-15), gocv.FontHersheySimplex, 0.5, black, 1)
	if ok := gocv.IMWrite(path, img); !ok {
		return fmt.Errorf("bench: cannot write %s", path)
	}
	return nil
}
