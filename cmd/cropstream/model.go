package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/processors/detect"
)

// modelFlags is detect.ModelConfig under the names the operational
// commands use; model mirrors --model.
type modelFlags struct {
	detect.ModelConfig
	model string
}

func (m *modelFlags) register(f *pflag.FlagSet) {
	m.RegisterFlags(f)
	m.model = m.ModelPath
	fl := f.Lookup("model")
	fl.Value = alsoSet{fl.Value, &m.model}
}

func (m *modelFlags) newEngine(scoreThreshold float32, rw *inference.Rewrite) (*inference.Engine, error) {
	return m.NewEngine(scoreThreshold, rw)
}

// alsoSet is a flag whose value is written to one more string.
type alsoSet struct {
	pflag.Value
	to *string
}

func (a alsoSet) Set(v string) error {
	*a.to = v
	return a.Value.Set(v)
}

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
