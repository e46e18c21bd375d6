package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/fleet"
	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/metrics"
)

func newIngestCmd(g *globals) *cobra.Command {
	var (
		fl ingest.Flags
		fs fleet.Serving
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
			if fs.Registry {
				fs.Config.JPEGQuality = fl.Config.JPEGQuality
				return serveFleet(cmd, g, fs)
			}
			ctx := cmd.Context()
			src, err := fl.Open(ctx, cmd.Flags().Changed)
			if err != nil {
				return err
			}
			defer src.Close()
			conn, top, err := g.openWithTopics(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			st, err := ingest.Produce(ctx, conn, top, fl.Config, src)
			if st != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "ingested %d frames (%d bytes) from %s as camera %s\n", st.Frames, st.Bytes, src.Info().Name, fl.Config.CameraID)
			}
			return err
		},
	}
	fl.RegisterFlags(cmd.Flags())
	fs.RegisterFlags(cmd.Flags())
	return cmd
}

// serveFleet serves the camera registry until the command's context ends.
func serveFleet(cmd *cobra.Command, g *globals, fs fleet.Serving) error {
	if err := fs.Check(cmd.Flags().Changed); err != nil {
		return err
	}
	ctx := cmd.Context()
	conn, top, err := g.openWithTopics(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	svc, err := fleet.New(fs.Config, conn, top)
	if err != nil {
		return err
	}
	if fs.HTTPAddr != "" {
		addr, err := metrics.Serve(ctx, fs.HTTPAddr, svc.HandlerWith(metrics.Handler(metrics.Registry(svc.Collector()), svc.Ready)))
		if err != nil {
			return err
		}
		slog.Info("camera API", "addr", "http://"+addr+"/cameras", "instance", svc.Instance())
	}
	slog.Info("serving the camera registry", "instance", svc.Instance(), "brokers", strings.Join(conn.Seeds, ","))
	if err := svc.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
