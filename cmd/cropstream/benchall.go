package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/benchmarks"
	"github.com/cropstream/cropstream/inference"
)

// benchAll runs benchmarks.All with the detector and the pipeline built
// from the flags.
func benchAll(cmd *cobra.Command, g *globals, mf modelFlags, out string, quick bool, gpuFPS float64, chAddr string) error {
	md, err := benchmarks.All(cmd.Context(), benchmarks.AllConfig{Out: out, Quick: quick, GPUFPS: gpuFPS, ClickHouse: chAddr, Log: cmd.ErrOrStderr(),
		Detector: func() (*inference.Engine, error) { return mf.stageEngine(0.1) },
		Pipeline: func(ctx context.Context, scenario string) (benchmarks.StageRate, error) {
			o := scenarioOpts{mf: mf, scenario: scenario, samples: 5, timeout: 10 * time.Minute, fresh: true}
			rep, err := runScenario(ctx, g, o)
			if err != nil {
				return benchmarks.StageRate{}, err
			}
			return benchmarks.PipelineRate(rep.Scenario, rep.Frames, rep.ElapsedS), nil
		}})
	if err != nil {
		return err
	}
	fmt.Fprint(cmd.OutOrStdout(), md)
	return nil
}
