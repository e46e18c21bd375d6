package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cropstream/cropstream/fieldrun"
	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/simulator"
)

func newIngestCmd(g *globals) *cobra.Command {
	var (
		cfg          ingest.Config
		video        string
		folder       string
		scenario     string
		folderFPS    float64
		captureStart string
		progress     string
		rows         []string
	)
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Produce frames from a video file, an RTSP/HTTP stream or an image folder",
		Long: `Produce a camera's frames to the frames topic, keyed by camera id with goka's
partitioner, so every downstream stage sees one camera on one partition, in order.

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
			ctx := cmd.Context()
			if n := btoi(video != "") + btoi(folder != "") + btoi(scenario != ""); n != 1 {
				return errors.New("ingest: give exactly one source: --video, --folder or --scenario")
			}
			if err := checkJPEGQuality(cfg.JPEGQuality); err != nil {
				return err
			}
			if captureStart != "" {
				t, err := time.Parse(time.RFC3339Nano, captureStart)
				if err != nil {
					return fmt.Errorf("--capture-start: %w", err)
				}
				cfg.CaptureStart = t
			}
			// Open the source first: a bad source fails before anything is produced.
			var (
				src ingest.Source
				err error
			)
			switch {
			case video != "":
				src, err = ingest.OpenVideo(ctx, video)
			case folder != "":
				src, err = ingest.OpenFolder(folder, folderFPS)
			default:
				var sc *simulator.Scenario
				if sc, err = simulator.Load(scenario); err == nil {
					s := ingest.OpenScenario(sc)
					if len(rows) > 0 {
						s.Rows = map[string]bool{}
						for _, r := range rows {
							s.Rows[r] = true
						}
					}
					src = s
					fieldrun.ScenarioDefaults(&cfg, sc, cmd.Flags().Changed)
					if !cmd.Flags().Changed("capture-start") && sc.StartTime.Equal(simulator.DefaultStartTime) {
						// A demo's frames are from now, so dashboards of the last days show them.
						cfg.CaptureStart = time.Now().UTC().Truncate(time.Millisecond)
					}
				}
			}
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
			switch progress {
			case "on":
				cfg.Progress = os.Stderr
			case "auto":
				if term.IsTerminal(int(os.Stderr.Fd())) {
					cfg.Progress = os.Stderr
				}
			case "off":
			default:
				return fmt.Errorf("--progress %q, want auto, on or off", progress)
			}
			in, err := ingest.New(cfg, client, top)
			if err != nil {
				return err
			}
			st, err := in.Run(ctx, src)
			mbps := float64(st.Bytes) / 1e6 / max(st.Elapsed.Seconds(), 1e-9)
			slog.Info("ingest done", "camera", cfg.CameraID, "frames", st.Frames, "bytes", st.Bytes,
				"sampled_out", st.Sampled, "dead_letters", st.DeadLetters, "elapsed", st.Elapsed.Round(time.Millisecond), "MBps", fmt.Sprintf("%.1f", mbps))
			fmt.Fprintf(cmd.OutOrStdout(), "ingested %d frames (%d bytes) from %s as camera %s\n", st.Frames, st.Bytes, src.Info().Name, cfg.CameraID)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&video, "video", "", "video file or rtsp/http(s) stream URL")
	f.StringVar(&folder, "folder", "", "folder of images (jpg, png, bmp, tif), in name order")
	f.StringVar(&scenario, "scenario", "", "simulator scenario: YAML file or builtin name")
	f.StringSliceVar(&rows, "scenario-rows", nil, "with --scenario: only these rows (ids like B1-R2), e.g. one camera per row")
	f.Float64Var(&folderFPS, "folder-fps", 10, "capture rate the folder's images are spaced at")
	f.StringVar(&cfg.CameraID, "camera", "", "camera id (the Kafka key; required except with --scenario)")
	f.StringVar(&cfg.FieldID, "field", "", "field id")
	f.StringVar(&cfg.BlockID, "block", "", "block id")
	f.StringVar(&cfg.RowID, "row", "", "row id")
	f.Float64Var(&cfg.SampleFPS, "fps", 0, "keep at most this many frames per second of source time (0: all)")
	f.IntVar(&cfg.JPEGQuality, "jpeg-quality", 90, "JPEG quality of encoded frames (1-100)")
	f.IntVar(&cfg.MaxFrameBytes, "max-frame-bytes", 0, "refuse frames larger than this (default and maximum: --topology-max-frame-bytes)")
	f.StringVar(&captureStart, "capture-start", "", "capture time of a file's first frame, RFC 3339 (default: now); fix it to re-ingest with the same frame ids")
	f.StringVar(&progress, "progress", "auto", "progress bar for files: auto (when stderr is a terminal), on, off")
	return cmd
}

// checkJPEGQuality refuses a quality outside 1..100. The library reads 0 as
// "the default", but a user who types --jpeg-quality 0 asked for something
// else (the lowest quality?) and must not silently get 90.
func checkJPEGQuality(q int) error {
	if q < 1 || q > 100 {
		return fmt.Errorf("--jpeg-quality %d: want 1..100 (default 90)", q)
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
