package main

import (
	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/evaluation"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/simulator"
)

func newEvalCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Score the whole pipeline (or, with `eval detect`, the detector) against the simulator's truth",
	}
	newEvalPipeline(g, cmd)
	cmd.AddCommand(withImageEval(newEvalDetectCmd()), newEvalCalibrateCmd(g), newEvalMOTCmd(), newEvalCoverageCmd(), newEvalReplayCmd())
	return cmd
}

func newEvalDetectCmd() *cobra.Command {
	var (
		mf        modelFlags
		scenario  string
		asJSON    bool
		conf      float32
		reqVis    float64
		maxFrames int
		batch     int
	)
	cmd := &cobra.Command{
		Use:   "detect",
		Short: "Render a scenario, detect every frame, and report precision, recall and mAP@0.5",
		Long: `Render --scenario, JPEG-encode and decode each frame as the pipeline does, run the
detector, and match its boxes to the simulator's truth at IoU 0.5.

Units at least --required-visibility visible in a frame must be found; less
visible ones are ignored (finding them is neither a hit nor a false alarm), as
detection benchmarks treat heavily occluded objects. AP is computed with
all-point interpolation over the full score range; precision and recall are
at --conf.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := simulator.Load(scenario)
			if err != nil {
				return err
			}
			eng, err := mf.engine(0.05)
			if err != nil {
				return err
			}
			defer eng.Close()
			inference.TuneMalloc()
			r, err := evaluation.ScoreDetector(eng, sc, evaluation.DetectOptions{Conf: conf, RequiredVisibility: reqVis, MaxFrames: maxFrames, Batch: batch})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return printJSON(out, r)
			}
			r.Print(out)
			return nil
		},
	}
	f := cmd.Flags()
	mf.register(f)
	f.StringVar(&scenario, "scenario", "default", "scenario YAML file or builtin name")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.Float32Var(&conf, "conf", 0.25, "score threshold of the operating point for precision and recall")
	f.Float64Var(&reqVis, "required-visibility", 0.5, "units at least this visible must be detected; less visible ones are ignored")
	f.IntVar(&maxFrames, "max-frames", 0, "stop after this many frames (0: the whole scenario)")
	f.IntVar(&batch, "batch", 8, "inference batch size")
	return cmd
}
