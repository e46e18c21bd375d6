package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/processors/detect"
)

// newProbeCmd is the child side of detect.ModelConfig.Probe.
func newProbeCmd() *cobra.Command {
	var (
		mf      detect.ModelConfig
		rewrite string
	)
	cmd := &cobra.Command{
		Use:    "probe-model",
		Short:  "Load a model and run one batch (used in a child process before serving with a GPU provider)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := mf.EngineConfig(0.25, nil)
			if err != nil {
				return err
			}
			if err := inference.ProbeRun(cfg, rewrite); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "ok")
			return nil
		},
	}
	mf.RegisterFlags(cmd.Flags())
	cmd.Flags().StringVar(&rewrite, "rewrite", "none", "graph rewrites: split, u8, reduce, comma-separated")
	cmd.Flags().IntVar(&mf.Batch, "batch", 0, "batch the GPU graph is fixed to")
	return cmd
}
