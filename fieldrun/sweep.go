package fieldrun

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/simulator"
)

// cropScenario is the builtin scenario of each crop, the base of a sweep.
var cropScenario = map[string]string{"apple": "default", "citrus": "citrus", "grape": "grape"}

// CropScenario is the builtin scenario a sweep of crop starts from; false
// for a crop without one.
func CropScenario(crop string) (string, bool) {
	name, ok := cropScenario[crop]
	return name, ok
}

// Sweep names the seeded fields a coverage check simulates: Base with seeds
// FirstSeed, FirstSeed+1, ..., and the sizes that are not zero replacing
// the scenario's.
type Sweep struct {
	Base          *simulator.Scenario
	Fields        int
	FirstSeed     uint64
	Rows, Plants  int
	Width, Height int
	// Cache, when set, is a directory keeping each field's sample (JSON) to
	// reuse instead of rendering again.
	Cache string
	// Progress, when set, receives a line updated after every field.
	Progress io.Writer
}

// Scenario is the sweep's i-th field.
func (s Sweep) Scenario(i int) *simulator.Scenario {
	sc := *s.Base
	sc.Seed = s.FirstSeed + uint64(i)
	if s.Rows > 0 {
		sc.Rows = s.Rows
	}
	if s.Plants > 0 {
		sc.PlantsPerRow = s.Plants
	}
	if s.Width > 0 && s.Height > 0 {
		// Jitter is in pixels: it scales with the frame.
		sc.Camera.JitterPx *= float64(s.Width) / float64(sc.Camera.Width)
		sc.Camera.Width, sc.Camera.Height = s.Width, s.Height
	}
	return &sc
}

// Simulate simulates (or reads from the cache) every field of the sweep.
func (s Sweep) Simulate() ([]*FieldSample, error) {
	var fs []*FieldSample
	start := time.Now()
	for i := range s.Fields {
		f, err := cachedField(s.Cache, s.Scenario(i))
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
		if s.Progress != nil {
			fmt.Fprintf(s.Progress, "\rfield %d/%d (%.0f s)", i+1, s.Fields, time.Since(start).Seconds())
		}
	}
	if s.Progress != nil {
		fmt.Fprintln(s.Progress)
	}
	return fs, nil
}

// cachedField simulates a field, or reads it from dir when an earlier run
// stored the same scenario there.
func cachedField(dir string, sc *simulator.Scenario) (*FieldSample, error) {
	if dir == "" {
		return SimulateTruthField(sc, track.Params{})
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%dx%d-%dx%d-%d.json", sc.Crop, sc.Rows, sc.PlantsPerRow, sc.Camera.Width, sc.Camera.Height, sc.Seed))
	if b, err := os.ReadFile(path); err == nil {
		var f FieldSample
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("coverage cache %s: %w", path, err)
		}
		return &f, nil
	}
	f, err := SimulateTruthField(sc, track.Params{})
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("coverage cache: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return nil, fmt.Errorf("coverage cache: %w", err)
	}
	return f, nil
}

// Print writes the report as `eval coverage` prints it without --json.
func (rep CoverageReport) Print(out io.Writer) {
	fmt.Fprintf(out, "%s: %d fields (seeds %s, %d plants each), %d sample plants, detections: %s\n", rep.Crop, rep.Fields, rep.Seeds, rep.Plants, rep.Samples, rep.Detections)
	fmt.Fprintf(out, "camera count vs visible units: mean %+.1f %%; ratio residual CV %.3f (prior visibility_cv %.3f, visibility %.3f)\n",
		rep.CountErrorMeanPct, rep.ResidualCV, rep.PriorVisibilityCV, rep.Visibility)
	for _, e := range []struct {
		name string
		c    EstimatorCoverage
	}{{"ratio (pipeline)", rep.Ratio}, {"ratio, uncorrected", rep.RatioNoFPC}, {"regression", rep.Regression}} {
		fmt.Fprintf(out, "  %-26s interval holds the truth in %d of %d fields (%.0f %%), median half-width %.1f %%, RMS error %.1f %%\n",
			e.name, e.c.Covered, e.c.Fields, 100*e.c.Share, e.c.MedianHalfWidthPct, e.c.RMSErrorPct)
	}
	if p := rep.Plan; p != nil {
		fmt.Fprintf(out, "  plan for ±%.0f %%: %d-%d plants, estimate within ±%.0f %% in %d of %d fields (%.0f %%), RMS error %.1f %%, unreachable %d\n",
			p.TargetPct, p.MinSamples, p.MaxSamples, p.TargetPct, p.Within, p.Fields, 100*p.Share, p.RMSErrorPct, p.Unreachable)
	}
}
