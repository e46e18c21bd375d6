package main

import (
	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/fieldrun"
)

func newEvalCoverageCmd() *cobra.Command {
	var c fieldrun.CoverageFlags
	cmd := runCmd(jsonFlag(&cobra.Command{
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
	}, "print JSON"), func(cmd *cobra.Command, _ []string) (out, error) {
		rep, err := c.Run(cmd.ErrOrStderr())
		return report(rep, rep.Print), err
	})
	c.RegisterFlags(cmd.Flags())
	return cmd
}
