package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/fieldrun"
)

func newEvalCalibrateCmd(g *globals) *cobra.Command {
	var (
		o         fieldrun.Options
		scenarios []string
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "calibrate",
		Short: "Measure a model's count scores: the per-class scores at which the count is unbiased",
		Long: `Run the pipeline on each of --scenarios (validation fields the model was not
trained on) and find, per class, the median detection score over a track at
which the tracker counts as many objects as the simulator says are visible
from the camera (at least 25 % in view in some frame). Those scores are the
model's count_scores metadata (see models/README.md); they belong to the
model and the tracker together, so measure them again when either changes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var reps []*fieldrun.Report
			for _, s := range scenarios {
				o.ScenarioName, o.Fresh = s, g.kafka.Embedded()
				rep, err := o.Run(cmd.Context(), g.kafka, g.topo)
				if err != nil {
					return fmt.Errorf("calibrate on %s: %w", s, err)
				}
				reps = append(reps, rep)
			}
			r := fieldrun.CalibrateCountScores(o.Track, scenarios, reps)
			return printReport(cmd.OutOrStdout(), asJSON, r, r.Print)
		},
	}
	f := cmd.Flags()
	o.Model.RegisterFlags(f)
	o.Samples = 5
	f.DurationVar(&o.Timeout, "timeout", 10*time.Minute, "give up on a scenario if the pipeline has not drained by then")
	f.StringSliceVar(&scenarios, "scenarios", nil, "validation scenarios (YAML files or builtin names), comma-separated or repeated")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	_ = cmd.MarkFlagRequired("scenarios")
	return cmd
}
