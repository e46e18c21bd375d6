package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/fieldrun"
	"github.com/cropstream/cropstream/sampleplan"
	"github.com/cropstream/cropstream/simulator"
)

func newEvalCoverageCmd() *cobra.Command {
	var (
		crop         string
		sw           fieldrun.Sweep
		samples      int
		target       string
		asJSON       bool
		baseScenario string
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
			name, ok := baseScenario, true
			if name == "" {
				if name, ok = fieldrun.CropScenario(crop); !ok {
					return fmt.Errorf("eval coverage: --crop %q: want apple, citrus or grape, or --scenario", crop)
				}
			}
			var err error
			if sw.Base, err = simulator.Load(name); err != nil {
				return err
			}
			prof, err := crops.Load(sw.Base.Crop)
			if err != nil {
				return err
			}
			tgt := 0.0
			if target != "" {
				if tgt, err = sampleplan.ParseShare(target); err != nil {
					return fmt.Errorf("eval coverage: --target: %w", err)
				}
			}
			sw.Progress = cmd.ErrOrStderr()
			fs, err := sw.Simulate()
			if err != nil {
				return err
			}
			rep := fieldrun.Coverage(prof, fs, samples, tgt)
			return printReport(cmd.OutOrStdout(), asJSON, rep, rep.Print)
		},
	}
	f := cmd.Flags()
	f.StringVar(&crop, "crop", "apple", "apple, citrus or grape (their builtin scenario is the base)")
	f.StringVar(&baseScenario, "scenario", "", "base scenario file instead of the crop's builtin one (its crop is used)")
	f.IntVar(&sw.Fields, "fields", 40, "fields to simulate")
	f.Uint64Var(&sw.FirstSeed, "first-seed", 2000, "seed of the first field; the others follow")
	f.IntVar(&samples, "samples", 5, "sample plants hand counted per field")
	f.StringVar(&target, "target", "", "also check the sample plan for this relative half-width (5% or 0.05)")
	f.IntVar(&sw.Rows, "rows", 0, "rows per field (0: the scenario's)")
	f.IntVar(&sw.Plants, "plants", 0, "plants per row (0: the scenario's)")
	f.IntVar(&sw.Width, "width", 0, "frame width (with --height; 0: the scenario's): 640x360 renders four times faster")
	f.IntVar(&sw.Height, "height", 0, "frame height")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.StringVar(&sw.Cache, "cache", "", "keep each field's counts and truth here (JSON) and reuse them: estimators and plans can be compared without rendering again")
	return cmd
}
