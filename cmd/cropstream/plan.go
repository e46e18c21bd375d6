package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/sampleplan"
)

func newPlanCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "plan", Short: "Plan field work: how many plants to hand count"}
	var (
		block, target string
		tgt           float64
	)
	samples := runCmd(jsonFlag(&cobra.Command{
		Use:   "samples",
		Short: "How many sample plants to hand count for a yield within ±target at 95 %, and which",
		Long: `Read the block's camera counts from the objects topic and its rows from the
field map, and print the number of plants to hand count so that the 95 %
yield interval is expected within ±--target, and which plants (spread
along the rows). Before three plants are hand counted the plant-to-plant
spread of the camera's share is the crop profile's prior (sampling.visibility_cv);
after, the spread observed on the hand-counted plants. Checked by simulation
with 'cropstream eval coverage --target'.`,
		Example: `  cropstream plan samples --block B1 --target 5%`,
		Args:    cobra.NoArgs,
		PreRunE: check(func([]string) (err error) {
			if tgt, err = sampleplan.ParseShare(target); err != nil {
				return fmt.Errorf("plan samples: --target: %w", err)
			}
			return nil
		}),
	}, "print JSON"), func(cmd *cobra.Command, _ []string) (out, error) {
		// The objects and fields topics are read as they are: none is created.
		conn, _, err := g.open(cmd.Context())
		if err != nil {
			return out{}, err
		}
		defer conn.Close()
		res, err := sampleplan.ForBlock(cmd.Context(), conn, block, tgt)
		return report(res, res.Print), err
	})
	samples.Flags().StringVar(&block, "block", "", "block id (as in the field map)")
	samples.Flags().StringVar(&target, "target", "5%", "relative half-width of the 95 % yield interval: 5% or 0.05")
	_ = samples.MarkFlagRequired("block")
	cmd.AddCommand(samples)
	return cmd
}
