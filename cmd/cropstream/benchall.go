package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/benchmarks"
)

// benchAll measures each stage on this machine and the whole pipeline, and
// writes bench.md and bench.png with a capacity model.
func benchAll(cmd *cobra.Command, g *globals, mf modelFlags, out string, quick bool, gpuFPS float64) error {
	ctx := cmd.Context()
	say := func(f string, a ...any) { fmt.Fprintf(cmd.ErrOrStderr(), f+"\n", a...) }
	n := func(full, small int) int {
		if quick {
			return small
		}
		return full
	}
	var rates []benchmarks.StageRate

	say("bench: ingest -> broker -> consumer group, 100 KB frames")
	r, err := benchmarks.IngestRate(ctx, n(6000, 800))
	if err != nil {
		return err
	}
	rates = append(rates, r)

	say("bench: detect stage (frames from the broker: decode, letterbox, inference in lanes, produce, commit)")
	eng, err := mf.stageEngine(0.1)
	if err != nil {
		return fmt.Errorf("bench detect: %w", err)
	}
	r, err = benchmarks.DetectStageRate(ctx, eng, eng.Provider(), n(640, 96))
	eng.Close()
	if err != nil {
		return err
	}
	rates = append(rates, r)

	say("bench: track stage (detections from the broker, tracker state in the goka table)")
	r, err = benchmarks.TrackStageRate(ctx, n(8000, 800), n(20000, 4000))
	if err != nil {
		return err
	}
	rates = append(rates, r)

	say("bench: whole pipeline on a simulated field")
	o := scenarioOpts{mf: mf, scenario: "default", samples: 5, timeout: 10 * time.Minute, fresh: true}
	if quick {
		dir, err := os.MkdirTemp("", "cropstream-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		f := filepath.Join(dir, "quick.yaml")
		if err := os.WriteFile(f, []byte(benchmarks.QuickScenario), 0o644); err != nil {
			return err
		}
		o.scenario = f
	}
	rep, err := runScenario(ctx, g, o)
	if err != nil {
		return fmt.Errorf("bench pipeline: %w", err)
	}
	rates = append(rates, benchmarks.PipelineRate(rep.Scenario, rep.Frames, rep.ElapsedS))

	md, err := benchmarks.Write(out, rates, gpuFPS)
	if err != nil {
		return err
	}
	fmt.Fprint(cmd.OutOrStdout(), md)
	say("bench: wrote %s and %s", filepath.Join(out, "bench.md"), filepath.Join(out, "bench.png"))
	return nil
}
