package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/processors/track"
)

// calibrateReport is what eval calibrate prints.
type calibrateReport struct {
	Scenarios []string `json:"scenarios"`
	Classes   []string `json:"classes"`
	// CountScores per class; 0 for a class none of the scenarios has.
	CountScores []float64 `json:"count_scores"`
	Visible     []int     `json:"visible"`
	Counted     []int     `json:"counted"`
	// Metadata is the value for the model's count_scores key.
	Metadata string `json:"metadata"`
}

func newEvalCalibrateCmd(g *globals) *cobra.Command {
	var (
		o         scenarioOpts
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
			var streams []track.Labelled
			var classes []string
			for _, s := range scenarios {
				o.scenario, o.fresh = s, g.kafka.Embedded()
				rep, err := runScenario(cmd.Context(), g, o)
				if err != nil {
					return fmt.Errorf("calibrate on %s: %w", s, err)
				}
				streams = append(streams, rep.Labelled)
				if len(rep.Labelled.Visible) > len(classes) {
					classes = rep.Classes
				}
			}
			r := calibrateReport{Scenarios: scenarios, Classes: classes}
			r.CountScores = track.CalibrateCountScores(o.track, streams, len(classes))
			p := o.track
			p.CountScores = r.CountScores
			r.Counted = track.CountByClass(p, streams, len(classes))
			r.Visible = make([]int, len(classes))
			var meta []string
			for _, s := range streams {
				for c, n := range s.Visible {
					r.Visible[c] += n
				}
			}
			for _, v := range r.CountScores {
				if v == 0 {
					v = 0.5 // the tracker's default for a class without one
				}
				meta = append(meta, fmt.Sprintf("%.3f", v))
			}
			r.Metadata = strings.Join(meta, ",")
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			for c, name := range classes {
				if r.Visible[c] == 0 {
					fmt.Fprintf(out, "%-14s no visible units in these scenarios: not calibrated\n", name)
					continue
				}
				fmt.Fprintf(out, "%-14s count score %.3f  (counts %d of %d visible)\n", name, r.CountScores[c], r.Counted[c], r.Visible[c])
			}
			fmt.Fprintf(out, "metadata: count_scores=%s\n", r.Metadata)
			return nil
		},
	}
	f := cmd.Flags()
	o.mf.register(f)
	o.samples = 5
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up on a scenario if the pipeline has not drained by then")
	f.StringSliceVar(&scenarios, "scenarios", nil, "validation scenarios (YAML files or builtin names), comma-separated or repeated")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	_ = cmd.MarkFlagRequired("scenarios")
	return cmd
}
