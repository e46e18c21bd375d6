package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/fieldrun"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/sampleplan"
	"github.com/cropstream/cropstream/simulator"
)

// cropScenario is the builtin scenario of each crop, the base of a sweep.
var cropScenario = map[string]string{"apple": "default", "citrus": "citrus", "grape": "grape"}

func newEvalCoverageCmd() *cobra.Command {
	var (
		crop          string
		fields        int
		firstSeed     uint64
		samples       int
		target        string
		rows, plants  int
		width, height int
		asJSON        bool
		baseScenario  string
		cache         string
	)
	cmd := &cobra.Command{
		Use:   "coverage",
		Short: "Share of seeded fields whose 95 % yield interval holds the true yield; checks a sample plan",
		Long: `Render --fields fields of --crop (its builtin scenario with seeds from
--first-seed on, optionally --rows and --plants per row), run the tracker on what
a perfect detector gives (units at least 25 % visible: the sweep measures the
sampling, and is affordable on 2 cores), place counted objects on plants as the
aggregate stage does, and hand count --samples plants spread along the rows
from the truth. Reports, per estimator, the share of fields whose 95 %
interval holds the true yield, the median half-width and the RMS error; with
--target, also how often the plan of 'cropstream plan samples' (from the
profile's prior) gives an estimate within ±target.`,
		Example: `  cropstream eval coverage --crop grape --fields 40 --target 10%`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name := baseScenario
			if name == "" {
				var ok bool
				if name, ok = cropScenario[crop]; !ok {
					return fmt.Errorf("eval coverage: --crop %q: want apple, citrus or grape, or --scenario", crop)
				}
			}
			base, err := simulator.Load(name)
			if err != nil {
				return err
			}
			prof, err := crops.Load(base.Crop)
			if err != nil {
				return err
			}
			tgt := 0.0
			if target != "" {
				if tgt, err = sampleplan.ParseShare(target); err != nil {
					return fmt.Errorf("eval coverage: --target: %w", err)
				}
			}
			var fs []*fieldrun.FieldSample
			start := time.Now()
			for i := range fields {
				sc := *base
				sc.Seed = firstSeed + uint64(i)
				if rows > 0 {
					sc.Rows = rows
				}
				if plants > 0 {
					sc.PlantsPerRow = plants
				}
				if width > 0 && height > 0 {
					// Jitter is in pixels: it scales with the frame.
					sc.Camera.JitterPx *= float64(width) / float64(sc.Camera.Width)
					sc.Camera.Width, sc.Camera.Height = width, height
				}
				f, err := cachedField(cache, &sc)
				if err != nil {
					return err
				}
				fs = append(fs, f)
				fmt.Fprintf(cmd.ErrOrStderr(), "\rfield %d/%d (%.0f s)", i+1, fields, time.Since(start).Seconds())
			}
			fmt.Fprintln(cmd.ErrOrStderr())
			rep := fieldrun.Coverage(prof, fs, samples, tgt)
			out := cmd.OutOrStdout()
			if asJSON {
				return printJSON(out, rep)
			}
			fmt.Fprintf(out, "%s: %d fields (seeds %s, %d plants each), %d sample plants, detections: %s\n", rep.Crop, rep.Fields, rep.Seeds, rep.Plants, rep.Samples, rep.Detections)
			fmt.Fprintf(out, "camera count vs visible units: mean %+.1f %%; ratio residual CV %.3f (prior visibility_cv %.3f, visibility %.3f)\n",
				rep.CountErrorMeanPct, rep.ResidualCV, rep.PriorVisibilityCV, rep.Visibility)
			for _, e := range []struct {
				name string
				c    fieldrun.EstimatorCoverage
			}{{"ratio (pipeline)", rep.Ratio}, {"ratio, uncorrected", rep.RatioNoFPC}, {"regression", rep.Regression}} {
				fmt.Fprintf(out, "  %-26s interval holds the truth in %d of %d fields (%.0f %%), median half-width %.1f %%, RMS error %.1f %%\n",
					e.name, e.c.Covered, e.c.Fields, 100*e.c.Share, e.c.MedianHalfWidthPct, e.c.RMSErrorPct)
			}
			if p := rep.Plan; p != nil {
				fmt.Fprintf(out, "  plan for ±%.0f %%: %d-%d plants, estimate within ±%.0f %% in %d of %d fields (%.0f %%), RMS error %.1f %%, unreachable %d\n",
					p.TargetPct, p.MinSamples, p.MaxSamples, p.TargetPct, p.Within, p.Fields, 100*p.Share, p.RMSErrorPct, p.Unreachable)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&crop, "crop", "apple", "apple, citrus or grape (their builtin scenario is the base)")
	f.StringVar(&baseScenario, "scenario", "", "base scenario file instead of the crop's builtin one (its crop is used)")
	f.IntVar(&fields, "fields", 40, "fields to simulate")
	f.Uint64Var(&firstSeed, "first-seed", 2000, "seed of the first field; the others follow")
	f.IntVar(&samples, "samples", 5, "sample plants hand counted per field")
	f.StringVar(&target, "target", "", "also check the sample plan for this relative half-width (5% or 0.05)")
	f.IntVar(&rows, "rows", 0, "rows per field (0: the scenario's)")
	f.IntVar(&plants, "plants", 0, "plants per row (0: the scenario's)")
	f.IntVar(&width, "width", 0, "frame width (with --height; 0: the scenario's): 640x360 renders four times faster")
	f.IntVar(&height, "height", 0, "frame height")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.StringVar(&cache, "cache", "", "keep each field's counts and truth here (JSON) and reuse them: estimators and plans can be compared without rendering again")
	return cmd
}

// cachedField simulates a field, or reads it from dir when an earlier run
// stored the same scenario there.
func cachedField(dir string, sc *simulator.Scenario) (*fieldrun.FieldSample, error) {
	if dir == "" {
		return fieldrun.SimulateTruthField(sc, track.Params{})
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%dx%d-%dx%d-%d.json", sc.Crop, sc.Rows, sc.PlantsPerRow, sc.Camera.Width, sc.Camera.Height, sc.Seed))
	if b, err := os.ReadFile(path); err == nil {
		var f fieldrun.FieldSample
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("coverage cache %s: %w", path, err)
		}
		return &f, nil
	}
	f, err := fieldrun.SimulateTruthField(sc, track.Params{})
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
