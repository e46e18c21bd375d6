package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/annotate"
	"github.com/cropstream/cropstream/zones"
)

func newAnnotateCmd() *cobra.Command {
	var (
		mf          modelFlags
		in, out     string
		boxes       string
		fps         float64
		countScores []float64
		score       float64
		lines       []string
	)
	cmd := &cobra.Command{
		Use:   "annotate",
		Short: "Draw detections, track ids and the running count onto a video or an image folder",
		Long: `Run the detector and the track stage's tracker directly on --input (a video file
or a folder of images, in name order) and write the frames with, drawn on
them: every detection's box, class and score (white), every confirmed
track's box and id (a colour per track), and the count per class so far.

--out ending in .avi writes MJPG, .mp4 writes mp4v, at the input's frame
rate and size; anything else is a folder of images (frame-000001.jpg ... for a
video, the input's names for a folder). --boxes writes what was drawn, one
JSON line per frame. The final count (tracks still open at the end decided as
the track stage does) is printed.`,
		Example: `  cropstream sim --scenario default --out out/default
  cropstream annotate --input out/default/video.avi --out out/default/annotated.avi
  cropstream annotate --input photos/ --out photos-annotated/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			eng, err := mf.newEngine(float32(score), nil)
			if err != nil {
				return err
			}
			defer eng.Close()
			opts := annotate.Options{Out: out, FPS: fps}
			if boxes != "" {
				f, err := os.Create(boxes)
				if err != nil {
					return err
				}
				defer f.Close()
				opts.Boxes = f
			}
			cfg := annotate.Config{Detector: eng}
			cfg.Track.CountScores = countScores
			for _, s := range lines {
				l, err := zones.ParseLine(s)
				if err != nil {
					return fmt.Errorf("--line: %w", err)
				}
				cfg.Lines = append(cfg.Lines, zones.NewCounter(l))
			}
			sum, err := annotate.Run(cmd.Context(), cfg, in, opts)
			if err != nil {
				return err
			}
			sum.Print(cmd.OutOrStdout(), out, lines)
			return nil
		},
	}
	f := cmd.Flags()
	mf.register(f)
	f.StringVar(&in, "input", "", "video file or image folder (required)")
	f.StringVar(&out, "out", "", "annotated video (.avi MJPG, .mp4 mp4v) or image folder (required)")
	f.StringVar(&boxes, "boxes", "", "also write what was drawn here, one JSON line per frame")
	f.Float64Var(&fps, "fps", 10, "frame rate of a video written from an image folder")
	f.Float64Var(&score, "min-score", 0.1, "least detection score drawn and tracked (the detect stage's)")
	f.StringArrayVar(&lines, "line", nil, "count tracks crossing the line x1,y1,x2,y2 (frame pixels), per class: in = left to right across a line drawn top to bottom; repeatable")
	f.Float64SliceVar(&countScores, "count-scores", nil, "per class, the median track score at which an object counts (default: the model's count_scores)")
	cmd.MarkFlagRequired("input")
	cmd.MarkFlagRequired("out")
	return cmd
}
