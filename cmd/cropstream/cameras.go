package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/fleet"
	"github.com/cropstream/cropstream/metrics"
)

func newCamerasCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cameras",
		Short: "The camera registry: cameras the ingest service reads (cropstream ingest --registry)",
		Long: `Cameras are kept as data in the compacted cameras topic. Every instance of
cropstream ingest --registry reads its share of them, reconnecting by itself,
and reports each camera's state to the camera-state topic; list shows both.
The same is served as JSON by the ingest service (docs/cameras.md).`,
	}
	var c fleet.Camera
	add := &cobra.Command{
		Use:   "add --id ID --url URL --field F",
		Short: "Add a camera, or replace the one of the same id (its reader restarts)",
		Example: `  cropstream cameras add --id tractor-1 --url rtsp://10.0.0.7:554/stream1 --field F1 --block B1 --row B1-R3
  cropstream cameras add --id packing-2 --url http://10.0.0.9/mjpg/video.mjpg --field F1 --fps 5
  cropstream cameras add --id drone-3 --url /srv/uploads/drone-3 --field F2 --block B4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withConn(cmd.Context(), func(conn *broker.Conn) error {
				added, err := fleet.Add(cmd.Context(), conn, c)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "camera %s added: %s %s (field %s)\n", added.ID, added.Kind, added.URL, added.Field)
				return nil
			})
		},
	}
	f := add.Flags()
	f.StringVar(&c.ID, "id", "", "camera id: the frames' key (required)")
	f.StringVar(&c.URL, "url", "", "rtsp://, http(s):// (MJPEG) or other stream URL, a video file or a folder cameras upload JPEGs into (required)")
	f.StringVar(&c.Kind, "kind", "", "how to read the URL: rtsp, mjpeg, opencv (any URL OpenCV's FFmpeg reads), file (default: from the URL)")
	f.StringVar(&c.Transport, "rtsp-transport", "", "RTSP transport: tcp (default) or udp")
	f.StringVar(&c.Field, "field", "", "field id (required)")
	f.StringVar(&c.Block, "block", "", "block id")
	f.StringVar(&c.Row, "row", "", "row id")
	f.Float64Var(&c.FPS, "fps", 0, "keep at most this many frames per second (0: every frame)")
	f.StringVar(&c.Lane, "lane", "", "live or backfill (default: live for a stream or a growing folder, backfill for a video file)")
	for _, n := range []string{"id", "url", "field"} {
		_ = add.MarkFlagRequired(n)
	}

	remove := &cobra.Command{
		Use:   "remove ID...",
		Short: "Remove cameras: their readers stop after flushing the frames they read",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withConn(cmd.Context(), func(conn *broker.Conn) error {
				removed, err := fleet.RemoveRegistered(cmd.Context(), conn, args)
				for _, id := range removed {
					fmt.Fprintf(cmd.OutOrStdout(), "camera %s removed\n", id)
				}
				return err
			})
		},
	}

	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the cameras with their state: status, since when, frames/s, last frame, last error",
		Long: `List every registered camera with what its reader last reported. Status is
connecting, connected, reconnecting (since when, and the last error), ended (a
video file read to its end), failed (a setting no reconnect fixes), stopped
(its instance gave it up; another takes it over), pending (no reader has
reported yet) or stale (no report for ` + fleet.StaleAfter.String() + `: its instance died and no other
has taken it over yet).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withConn(cmd.Context(), func(conn *broker.Conn) error {
				v, err := fleet.Read(cmd.Context(), conn)
				if err != nil {
					return err
				}
				entries := v.Entries(time.Now())
				if asJSON {
					return printJSON(cmd.OutOrStdout(), entries)
				}
				return fleet.WriteEntries(cmd.OutOrStdout(), entries, time.Now())
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON (as GET /cameras of the ingest service)")
	cmd.AddCommand(add, remove, list)
	return cmd
}

// fleetFlags are ingest --registry's: the camera fleet service.
type fleetFlags struct {
	registry bool
	httpAddr string
	cfg      fleet.Config
}

func (fl *fleetFlags) register(f *pflag.FlagSet) {
	f.BoolVar(&fl.registry, "registry", false, "serve the camera registry: read every camera of cropstream cameras add (shared with other instances), reconnecting, until stopped")
	f.StringVar(&fl.httpAddr, "http-addr", "127.0.0.1:9470", "with --registry: address of the camera API, /metrics and /healthz (empty: none)")
	f.StringVar(&fl.cfg.Instance, "instance", "", "with --registry: this instance's name in the camera states (default host-pid)")
	f.DurationVar(&fl.cfg.SessionTimeout, "session-timeout", 6*time.Second, "with --registry: how soon a dead instance's cameras move to another")
	f.DurationVar(&fl.cfg.Backoff.Initial, "reconnect-initial", 500*time.Millisecond, "with --registry: first wait before reconnecting a camera")
	f.DurationVar(&fl.cfg.Backoff.Max, "reconnect-max", 30*time.Second, "with --registry: longest wait between reconnects (doubling, jittered)")
	f.DurationVar(&fl.cfg.StallTimeout, "stall-timeout", 5*time.Second, "with --registry: an MJPEG camera sending no frame this long is reconnected")
	f.DurationVar(&fl.cfg.ReportEvery, "report-every", time.Second, "with --registry: how often each camera's state is published")
}

// run serves the fleet until ctx ends. The single-source flags of ingest do
// not apply.
func (fl *fleetFlags) run(cmd *cobra.Command, g *globals, jpegQuality int) error {
	for _, n := range []string{"video", "folder", "scenario", "camera", "field", "block", "row", "fps", "capture-start"} {
		if cmd.Flags().Changed(n) {
			return fmt.Errorf("ingest --registry: --%s is a camera's setting: give it to cropstream cameras add", n)
		}
	}
	ctx := cmd.Context()
	conn, top, err := g.openWithTopics(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	fl.cfg.JPEGQuality = jpegQuality
	svc, err := fleet.New(fl.cfg, conn, top)
	if err != nil {
		return err
	}
	if fl.httpAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/cameras", svc.Handler())
		mux.Handle("/cameras/", svc.Handler())
		mux.Handle("/", metrics.Handler(metrics.Registry(svc.Collector()), svc.Ready))
		addr, err := metrics.Serve(ctx, fl.httpAddr, mux)
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
