package benchmarks

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/topology"
)

// StageRate is one measured stage: frames per second of one instance.
type StageRate struct {
	Name   string
	FPS    float64
	MBps   float64
	Detail string
	// Per is what one instance is: "2 cores", "one core", ...
	Per string
	// Raw is the stage's raw limit in frames/s, measured in the same run:
	// the same work done by the parts underneath with nothing of the
	// stage's own (0: none); RawHow says what ran.
	Raw    float64
	RawHow string
}

// Ratio is the stage's rate over its raw limit (0 without one).
func (r StageRate) Ratio() float64 {
	if r.Raw <= 0 {
		return 0
	}
	return r.FPS / r.Raw
}

// Write writes dir/bench.md (Markdown) and dir/bench.png (Plot) and returns
// the Markdown.
func Write(dir string, rates []StageRate, gpuFPS float64) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	md := Markdown(rates, gpuFPS, runtime.NumCPU())
	if err := os.WriteFile(filepath.Join(dir, "bench.md"), []byte(md), 0o644); err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	return md, Plot(filepath.Join(dir, "bench.png"), rates)
}

// loadAverage is the machine's load over the last 1, 5 and 15 minutes, as
// the report's context: a stage and its raw limit are measured minutes
// apart, and what else runs moves both.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return fmt.Sprintf("; load average at the end %s, %s, %s (1, 5, 15 min)", f[0], f[1], f[2])
	}
	return ""
}

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

// Markdown renders the figures, the ratio to 5 TB/day and the capacity
// model: instances of each stage (as measured, one per row's "per") for 5
// and 50 TB/day of 100 KB frames.
func Markdown(rates []StageRate, gpuFPS float64, cores int) string {
	const frame = FrameBytes
	targets := []float64{TargetFPS, 10 * TargetFPS}
	var b strings.Builder
	fmt.Fprintf(&b, "# cropstream bench\n\nMachine: %s, %d cores, %s/%s, Go %s; %s%s.\n\n", cpuModel(), cores, runtime.GOOS, runtime.GOARCH, runtime.Version(), time.Now().UTC().Format("2006-01-02 15:04 UTC"), loadAverage())
	fmt.Fprintf(&b, "5 TB/day of 100 KB frames is %.0f frames/s (%.1f MB/s); 50 TB/day is %.0f frames/s.\n\n", targets[0], targets[0]*frame/1e6, targets[1])
	b.WriteString("| stage | frames/s | MB/s | raw limit, frames/s | ratio to raw | × 5 TB/day | one instance | how |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	var costSum float64
	for _, r := range rates {
		mb, raw, ratio := "—", "—", "—"
		if r.MBps > 0 {
			mb = fmt.Sprintf("%.0f", r.MBps)
		}
		if r.Raw > 0 {
			raw, ratio = fmt.Sprintf("%.0f", r.Raw), fmt.Sprintf("%.2f", r.Ratio())
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s | %.2f | %s | %s |\n", r.Name, r.FPS, mb, raw, ratio, r.FPS/targets[0], r.Per, r.Detail)
		if r.Name != "whole pipeline" {
			costSum += coreSecondsPerFrame(r, cores)
		}
	}
	b.WriteString("\nRaw limits, each measured in this run on this machine:\n\n")
	for _, r := range rates {
		how := r.RawHow
		if how == "" {
			how = "none: the stages above together"
		}
		fmt.Fprintf(&b, "- %s: %s\n", r.Name, how)
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
		n := int(topology.DefaultCameraPartitions)
		for n < 2*k {
			n *= 2
		}
		return n
	}
	fmt.Fprintf(&b, "| frames/detections partitions (2 per instance of the widest stage, at least the default %d) | %d | %d |\n", topology.DefaultCameraPartitions, p(widest[0]), p(widest[1]))
	b.WriteString(planMarkdown(rates))
	return b.String()
}

// coreSecondsPerFrame is what one frame costs a stage in CPU time.
func coreSecondsPerFrame(r StageRate, cores int) float64 {
	c := float64(cores)
	if r.Per == "one core" {
		c = 1
	}
	return c / r.FPS
}

// Plot draws frames/s per stage, and its raw limit behind it, on a log
// scale against the 5 and 50 TB/day rates.
func Plot(path string, rates []StageRate) error {
	const w, h, left, bottom, top, right = 1100, 440, 190, 60, 40, 250
	img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(255, 255, 255, 0), h, w, gocv.MatTypeCV8UC3)
	defer img.Close()
	lo, hi := 1.0, 5.0 // log10 frames/s axis: 10 .. 100,000
	x := func(v float64) int {
		l := math.Log10(max(v, 10))
		return left + int(float64(w-left-right)*(l-lo)/(hi-lo))
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
		// The raw limit is a pale bar behind the stage's own.
		end := x(r.FPS)
		if r.Raw > 0 {
			gocv.Rectangle(&img, image.Rect(left, y+4, x(r.Raw), y+bar-4), color.RGBA{215, 225, 235, 0}, -1)
			end = max(end, x(r.Raw))
		}
		gocv.Rectangle(&img, image.Rect(left, y+8, x(r.FPS), y+bar-8), color.RGBA{60, 130, 200, 0}, -1)
		gocv.PutText(&img, r.Name, image.Pt(10, y+bar/2+5), gocv.FontHersheySimplex, 0.5, black, 1)
		label := fmt.Sprintf("%.0f/s", r.FPS)
		if r.Raw > 0 {
			label += fmt.Sprintf(", %.2f of raw %.0f/s", r.Ratio(), r.Raw)
		}
		gocv.PutText(&img, label, image.Pt(end+6, y+bar/2+5), gocv.FontHersheySimplex, 0.45, black, 1)
	}
	for _, t := range []struct {
		fps  float64
		name string
		c    color.RGBA
	}{{TargetFPS, "5 TB/day", color.RGBA{0, 0, 220, 0}}, {10 * TargetFPS, "50 TB/day", color.RGBA{0, 120, 0, 0}}} {
		xx := x(t.fps)
		gocv.Line(&img, image.Pt(xx, top-10), image.Pt(xx, h-bottom), t.c, 2)
		gocv.PutText(&img, t.name, image.Pt(xx-30, top-15), gocv.FontHersheySimplex, 0.45, t.c, 1)
	}
	gocv.PutText(&img, "frames/s of one instance (log scale), 100 KB frames; pale: the raw limit", image.Pt(left, h-15), gocv.FontHersheySimplex, 0.5, black, 1)
	if ok := gocv.IMWrite(path, img); !ok {
		return fmt.Errorf("bench: cannot write %s", path)
	}
	return nil
}
