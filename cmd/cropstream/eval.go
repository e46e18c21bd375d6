package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"gocv.io/x/gocv"

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

// detectReport is what eval detect prints.
type detectReport struct {
	evaluation.Result
	Scenario           string   `json:"scenario"`
	Seed               uint64   `json:"seed"`
	Model              string   `json:"model"`
	Classes            []string `json:"classes"`
	RequiredVisibility float64  `json:"required_visibility"`
	Conf               float32  `json:"conf"`
	InferMsPerFrame    float64  `json:"infer_ms_per_frame"`
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
			info := eng.Info()
			pre := inference.NewPreprocessor(info.Width, info.Height)
			defer pre.Close()
			ev := evaluation.NewDetectionEval(0.5, conf)
			sim := simulator.New(sc)
			defer sim.Close()
			input := inference.NewBatch(info, batch)
			type pending struct {
				lb  inference.Letterbox
				gts []evaluation.GT
			}
			var queue []pending
			var inferTime time.Duration
			flush := func() error {
				if len(queue) == 0 {
					return nil
				}
				start := time.Now()
				res, err := input.Run(eng, len(queue))
				if err != nil {
					return err
				}
				inferTime += time.Since(start)
				for i, p := range queue {
					dets := make([]inference.Detection, len(res[i]))
					for k, d := range res[i] {
						dets[k] = p.lb.ToFrame(d)
					}
					ev.Add(dets, p.gts)
				}
				queue = queue[:0]
				return nil
			}
			W, H := sc.Camera.Width, sc.Camera.Height
			for n := 0; maxFrames == 0 || n < maxFrames; n++ {
				f, err := sim.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return err
				}
				// Through JPEG as in the pipeline: the detector sees its artefacts.
				buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, *f.Image, []int{gocv.IMWriteJpegQuality, 90})
				if err != nil {
					return err
				}
				lb, err := pre.Decode(buf.GetBytes(), W, H, input, len(queue))
				buf.Close()
				if err != nil {
					return err
				}
				var gts []evaluation.GT
				for _, b := range f.Boxes {
					d := inference.Detection{X1: float32(max(0, b.Rect.Min.X)), Y1: float32(max(0, b.Rect.Min.Y)),
						X2: float32(min(W, b.Rect.Max.X)), Y2: float32(min(H, b.Rect.Max.Y)), Class: b.ClassID}
					gts = append(gts, evaluation.GT{Box: d, Ignore: b.Visibility < reqVis})
				}
				queue = append(queue, pending{lb: lb, gts: gts})
				if len(queue) == batch {
					if err := flush(); err != nil {
						return err
					}
				}
			}
			if err := flush(); err != nil {
				return err
			}
			r := detectReport{Result: ev.Result(), Scenario: sc.Name, Seed: sc.Seed, Model: eng.Name(), Classes: info.Names,
				RequiredVisibility: reqVis, Conf: conf}
			if r.Frames > 0 {
				r.InferMsPerFrame = float64(inferTime.Milliseconds()) / float64(r.Frames)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			fmt.Fprintf(out, "scenario %s (seed %d), model %s, %d frames, %d truth boxes\n", r.Scenario, r.Seed, r.Model, r.Frames, r.Truth)
			fmt.Fprintf(out, "precision %.3f  recall %.3f  (conf %.2f)  mAP@0.5 %.3f  inference %.1f ms/frame\n", r.Precision, r.Recall, conf, r.MAP50, r.InferMsPerFrame)
			for c, cr := range r.PerClass {
				if cr.Truth > 0 {
					fmt.Fprintf(out, "  %-14s AP50 %.3f  precision %.3f  recall %.3f  (%d boxes)\n", info.Names[c], cr.AP, cr.Precision, cr.Recall, cr.Truth)
				}
			}
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
