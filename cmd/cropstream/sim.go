package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/simulator"
)

func newSimCmd() *cobra.Command {
	var (
		scenario string
		cfg      simulator.OutputConfig
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Render a simulated field to a video with ground truth (MOTChallenge, truth.json, YOLO labels)",
		Long: `Render what a camera moving along the rows of a scenario sees, and write:

  DIR/video.avi    the frames (MJPG; .mp4 with --video video.mp4)
  DIR/gt.txt       MOTChallenge ground truth: frame,id,left,top,w,h,1,class,visibility
  DIR/frames.csv   per frame: sequence (gaps are dropped frames), row, position, capture time
  DIR/truth.json   every unit per plant and row: all, visible from the camera, masses, yield
  DIR/yolo/        with --export-yolo: images, labels and data.yaml for detector training

--scenario is a YAML file (see docs/simulator.md) or a builtin name: ` + strings.Join(simulator.Builtin(), ", ") + `.`,
		Example: `  cropstream sim --scenario default --out out/default
  cropstream sim --scenario my-block.yaml --out out/b7 --export-yolo --yolo-every 3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := ingest.CheckJPEGQuality(cfg.JPEGQuality); err != nil {
				return err
			}
			sc, err := simulator.Load(scenario)
			if err != nil {
				return err
			}
			if term.IsTerminal(int(os.Stderr.Fd())) {
				cfg.Progress = simulator.ProgressBar(sc, os.Stderr)
			}
			st, err := simulator.Render(sc, cfg)
			if err != nil {
				return err
			}
			t := st.Truth.Totals
			fmt.Fprintf(cmd.OutOrStdout(), "rendered %d frames to %s in %s (%.0f frames/s): %d units, %d visible from the camera, true yield %.1f kg\n",
				st.Frames, cfg.Dir, st.Elapsed.Round(1e6), float64(st.Frames)/st.Elapsed.Seconds(), t.Units, t.VisibleUnits, t.YieldKg)
			return nil
		},
	}
	cmd.Flags().StringVar(&scenario, "scenario", "", "scenario YAML file or builtin name (required)")
	cfg.RegisterFlags(cmd.Flags())
	cmd.MarkFlagRequired("scenario")
	cmd.MarkFlagRequired("out")
	return cmd
}
