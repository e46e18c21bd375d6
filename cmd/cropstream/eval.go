package main

import "github.com/spf13/cobra"

func newEvalCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Score the whole pipeline (or, with `eval detect`, the detector) against the simulator's truth",
	}
	newEvalPipeline(g, cmd)
	cmd.AddCommand(newEvalDetectCmd(), newEvalCalibrateCmd(g), newEvalMOTCmd(), newEvalCoverageCmd(), newEvalReplayCmd())
	return cmd
}
