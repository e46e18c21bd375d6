package fieldrun

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/sampleplan"
	"github.com/cropstream/cropstream/simulator"
)

// CoverageFlags are `cropstream eval coverage`'s: the base of the sweep (a
// crop's builtin scenario, or Scenario's file), the sweep, the sample plants
// hand counted and the plan's Target (as sampleplan.ParseShare reads it).
type CoverageFlags struct {
	Crop, Scenario, Target string
	Samples                int
	Sweep                  Sweep
}

// RegisterFlags registers the flags.
func (c *CoverageFlags) RegisterFlags(f *pflag.FlagSet) {
	f.StringVar(&c.Crop, "crop", "apple", "apple, citrus or grape (their builtin scenario is the base)")
	f.StringVar(&c.Scenario, "scenario", "", "base scenario file instead of the crop's builtin one (its crop is used)")
	f.IntVar(&c.Sweep.Fields, "fields", 40, "fields to simulate")
	f.Uint64Var(&c.Sweep.FirstSeed, "first-seed", 2000, "seed of the first field; the others follow")
	f.IntVar(&c.Samples, "samples", 5, "sample plants hand counted per field")
	f.StringVar(&c.Target, "target", "", "also check the sample plan for this relative half-width (5% or 0.05)")
	f.IntVar(&c.Sweep.Rows, "rows", 0, "rows per field (0: the scenario's)")
	f.IntVar(&c.Sweep.Plants, "plants", 0, "plants per row (0: the scenario's)")
	f.IntVar(&c.Sweep.Width, "width", 0, "frame width (with --height; 0: the scenario's): 640x360 renders four times faster")
	f.IntVar(&c.Sweep.Height, "height", 0, "frame height")
	f.StringVar(&c.Sweep.Cache, "cache", "", "keep each field's counts and truth here (JSON) and reuse them: estimators and plans can be compared without rendering again")
}

// Run simulates the sweep, a line of progress on progress after each field,
// and scores it as Coverage does.
func (c *CoverageFlags) Run(progress io.Writer) (CoverageReport, error) {
	name, ok := c.Scenario, true
	if name == "" {
		if name, ok = CropScenario(c.Crop); !ok {
			return CoverageReport{}, fmt.Errorf("eval coverage: --crop %q: want apple, citrus or grape, or --scenario", c.Crop)
		}
	}
	sw := c.Sweep
	var err error
	if sw.Base, err = simulator.Load(name); err != nil {
		return CoverageReport{}, err
	}
	prof, err := crops.Load(sw.Base.Crop)
	if err != nil {
		return CoverageReport{}, err
	}
	tgt := 0.0
	if c.Target != "" {
		if tgt, err = sampleplan.ParseShare(c.Target); err != nil {
			return CoverageReport{}, fmt.Errorf("eval coverage: --target: %w", err)
		}
	}
	sw.Progress = progress
	fs, err := sw.Simulate()
	if err != nil {
		return CoverageReport{}, err
	}
	return Coverage(prof, fs, c.Samples, tgt), nil
}
