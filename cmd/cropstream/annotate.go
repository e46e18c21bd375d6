package main

import (
	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/annotate"
	"github.com/cropstream/cropstream/processors/detect"
)

func newAnnotateCmd() *cobra.Command {
	var (
		mf detect.ModelConfig
		fl annotate.Flags
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
			eng, err := mf.NewEngine(float32(fl.MinScore), nil)
			if err != nil {
				return err
			}
			defer eng.Close()
			sum, err := fl.Run(cmd.Context(), eng)
			if err != nil {
				return err
			}
			sum.Print(cmd.OutOrStdout(), fl.Out, fl.Lines)
			return nil
		},
	}
	mf.RegisterFlags(cmd.Flags())
	fl.RegisterFlags(cmd.Flags())
	cmd.MarkFlagRequired("input")
	cmd.MarkFlagRequired("out")
	return cmd
}
