package main

import (
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/simulator"
)

func newSimCmd() *cobra.Command {
	var (
		scenario string
		cfg      simulator.OutputConfig
	)
	cmd := runCmd(&cobra.Command{
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
	}, func(*cobra.Command, []string) (out, error) {
		if err := ingest.CheckJPEGQuality(cfg.JPEGQuality); err != nil {
			return out{}, err
		}
		bar, _ := ingest.ProgressTo("auto")
		st, err := simulator.RenderScenario(scenario, cfg, bar)
		return report(nil, func(w io.Writer) { st.Print(w, cfg.Dir) }), err
	})
	cmd.Flags().StringVar(&scenario, "scenario", "", "scenario YAML file or builtin name (required)")
	cfg.RegisterFlags(cmd.Flags())
	cmd.MarkFlagRequired("scenario")
	cmd.MarkFlagRequired("out")
	return cmd
}
