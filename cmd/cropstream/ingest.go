package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/topology"
)

// laneFlag reads --lane into a topology.Lane.
type laneFlag struct{ l *topology.Lane }

func (f laneFlag) String() string {
	if f.l == nil {
		return ""
	}
	return string(*f.l)
}
func (f laneFlag) Set(s string) (err error) { *f.l, err = topology.ParseLane(s); return err }
func (f laneFlag) Type() string             { return "lane" }

func newIngestCmd(g *globals) *cobra.Command {
	var (
		cfg          ingest.Config
		srcCfg       ingest.SourceConfig
		captureStart string
		progress     string
		fl           fleetFlags
	)
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Produce frames from a video file, an RTSP/HTTP stream or an image folder",
		Long: `Produce a camera's frames to the frames topic, keyed by camera id with goka's
partitioner, so every downstream stage sees one camera on one partition, in order.
A live stream (rtsp://, http(s)://) goes to the live lane (frames-live, detected
before any recorded video), a file, folder or scenario to the backfill lane
(frames); --lane overrides that.

Exactly one source: --video (a file, or an rtsp://, http:// or https:// URL) or
--folder (images in name order; JPEGs pass through unchanged) or --scenario
(the field simulator: a YAML file or a builtin name; camera, field, block and
rows come from the scenario unless given).`,
		Example: `  cropstream ingest --video row3.mp4 --camera tractor-1 --block B1 --row R3 --fps 10
  cropstream ingest --video rtsp://10.0.0.7:554/stream1 --camera drone-2 --block B2
  cropstream ingest --folder ./shots --folder-fps 2 --camera handheld --block B1
  cropstream ingest --scenario default`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fl.registry {
				return fl.run(cmd, g, cfg.JPEGQuality)
			}
			ctx := cmd.Context()
			if err := srcCfg.Validate(); err != nil {
				return err
			}
			if err := ingest.CheckJPEGQuality(cfg.JPEGQuality); err != nil {
				return err
			}
			if captureStart != "" {
				t, err := time.Parse(time.RFC3339Nano, captureStart)
				if err != nil {
					return fmt.Errorf("--capture-start: %w", err)
				}
				cfg.CaptureStart = t
			}
			src, err := ingest.Open(ctx, srcCfg, &cfg, cmd.Flags().Changed)
			if err != nil {
				return err
			}
			defer src.Close()

			conn, top, err := g.openWithTopics(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			client, err := conn.Client()
			if err != nil {
				return err
			}
			defer client.Close()
			if cfg.Progress, err = ingest.ProgressTo(progress); err != nil {
				return err
			}
			in, err := ingest.New(cfg, client, top)
			if err != nil {
				return err
			}
			st, err := in.Run(ctx, src)
			slog.Info("ingest done", "camera", cfg.CameraID, "frames", st.Frames, "bytes", st.Bytes,
				"sampled_out", st.Sampled, "dead_letters", st.DeadLetters, "elapsed", st.Elapsed.Round(time.Millisecond), "MBps", fmt.Sprintf("%.1f", st.MBps()))
			fmt.Fprintf(cmd.OutOrStdout(), "ingested %d frames (%d bytes) from %s as camera %s\n", st.Frames, st.Bytes, src.Info().Name, cfg.CameraID)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&srcCfg.Video, "video", "", "video file or rtsp/http(s) stream URL")
	f.StringVar(&srcCfg.Folder, "folder", "", "folder of images (jpg, png, bmp, tif), in name order")
	f.StringVar(&srcCfg.Scenario, "scenario", "", "simulator scenario: YAML file or builtin name")
	f.StringSliceVar(&srcCfg.Rows, "scenario-rows", nil, "with --scenario: only these rows (ids like B1-R2), e.g. one camera per row")
	f.Float64Var(&srcCfg.FolderFPS, "folder-fps", 10, "capture rate the folder's images are spaced at")
	f.StringVar(&cfg.CameraID, "camera", "", "camera id (the Kafka key; required except with --scenario)")
	f.StringVar(&cfg.FieldID, "field", "", "field id")
	f.StringVar(&cfg.BlockID, "block", "", "block id")
	f.StringVar(&cfg.RowID, "row", "", "row id")
	f.Float64Var(&cfg.SampleFPS, "fps", 0, "keep at most this many frames per second of source time (0: all)")
	f.IntVar(&cfg.JPEGQuality, "jpeg-quality", 90, "JPEG quality of encoded frames (1-100)")
	f.IntVar(&cfg.MaxFrameBytes, "max-frame-bytes", 0, "refuse frames larger than this (default and maximum: --topology-max-frame-bytes)")
	f.StringVar(&captureStart, "capture-start", "", "capture time of a file's first frame, RFC 3339 (default: now); fix it to re-ingest with the same frame ids")
	f.Var(laneFlag{&cfg.Lane}, "lane", "live or backfill (default: live for a stream URL, backfill otherwise)")
	f.StringVar(&progress, "progress", "auto", "progress bar for files: auto (when stderr is a terminal), on, off")
	fl.register(f)
	return cmd
}
