package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/fleet"
	"github.com/cropstream/cropstream/sinks/clickhouse"
	"github.com/cropstream/cropstream/sinks/stores"
	"github.com/cropstream/cropstream/zones"
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
	add := g.connCmd(&cobra.Command{
		Use:   "add --id ID --url URL --field F",
		Short: "Add a camera, or replace the one of the same id (its reader restarts)",
		Example: `  cropstream cameras add --id tractor-1 --url rtsp://10.0.0.7:554/stream1 --field F1 --block B1 --row B1-R3
  cropstream cameras add --id packing-2 --url http://10.0.0.9/mjpg/video.mjpg --field F1 --fps 5
  cropstream cameras add --id drone-3 --url /srv/uploads/drone-3 --field F2 --block B4`,
		Args: cobra.NoArgs,
	}, func(cmd *cobra.Command, conn *broker.Conn, _ []string) (out, error) {
		a, err := fleet.Add(cmd.Context(), conn, c)
		return say("camera %s added: %s %s (field %s)", a.ID, a.Kind, a.URL, a.Field), err
	})
	c.RegisterFlags(add.Flags())
	for _, n := range []string{"id", "url", "field"} {
		_ = add.MarkFlagRequired(n)
	}
	remove := g.connCmd(&cobra.Command{
		Use:   "remove ID...",
		Short: "Remove cameras: their readers stop after flushing the frames they read",
		Args:  cobra.MinimumNArgs(1),
	}, func(cmd *cobra.Command, conn *broker.Conn, args []string) (out, error) {
		removed, err := fleet.RemoveRegistered(cmd.Context(), conn, args)
		for _, id := range removed {
			fmt.Fprintf(cmd.OutOrStdout(), "camera %s removed\n", id)
		}
		return out{}, err
	})
	list := g.connCmd(jsonFlag(&cobra.Command{
		Use:   "list",
		Short: "List the cameras with their state: status, since when, frames/s, last frame, last error",
		Long: `List every registered camera with what its reader last reported. Status is
connecting, connected, reconnecting (since when, and the last error), ended (a
video file read to its end), failed (a setting no reconnect fixes), stopped
(its instance gave it up; another takes it over), pending (no reader has
reported yet) or stale (no report for ` + fleet.StaleAfter.String() + `: its instance died and no other
has taken it over yet).`,
		Args: cobra.NoArgs,
	}, "print JSON (as GET /cameras of the ingest service)"), func(cmd *cobra.Command, conn *broker.Conn, _ []string) (out, error) {
		v, err := fleet.Read(cmd.Context(), conn)
		if err != nil {
			return out{}, err
		}
		e := v.Entries(time.Now())
		return out{v: e, text: func(w io.Writer) error { return fleet.WriteEntries(w, e, time.Now()) }}, nil
	})
	cmd.AddCommand(add, remove, list)
	return cmd
}

func newZonesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "zones",
		Short: "Count lines per camera: tracks counted across them in the track stage, per class and direction",
		Long: `A camera's count lines are kept as data in the compacted count-lines topic;
every track process follows it while running. For a camera with lines, each
confirmed track is counted once per line and direction as it crosses ("in":
from the line's right to its left, facing from its first end to its second on
the screen; for a line drawn top to bottom, left to right in the frame), to
the line-crossings topic and
the line_crossings table in ClickHouse (docs/zones.md).`,
	}
	var (
		camera string
		specs  []string
		band   float64
		c      zones.CameraLines
	)
	// clear sets no lines.
	parse := check(func([]string) (err error) {
		c, err = zones.ParseCameraLines(camera, specs, band)
		return err
	})
	publish := func(cmd *cobra.Command, conn *broker.Conn, _ []string) (out, error) {
		_, err := zones.Set(cmd.Context(), conn, c)
		return out{text: c.WriteSet}, err
	}
	set := g.connCmd(&cobra.Command{
		Use:   "set --camera ID --line NAME=x1,y1,x2,y2 [--line ...]",
		Short: "Set a camera's count lines, replacing those it had",
		Example: `  cropstream zones set --camera packing-2 --line belt=320,0,320,360
  cropstream zones set --camera gate-1 --line in-lane=0,200,640,200 --line out-lane=640,280,0,280`,
		Args: cobra.NoArgs, PreRunE: parse,
	}, publish)
	set.Flags().StringArrayVar(&specs, "line", nil, "a count line NAME=x1,y1,x2,y2 in frame pixels (required; repeatable, at most 16)")
	set.Flags().Float64Var(&band, "band", 0, "pixels a track's centre must be off a line before its side counts (0: 2)")
	_ = set.MarkFlagRequired("line")
	clearCmd := g.connCmd(&cobra.Command{
		Use:   "clear --camera ID",
		Short: "Remove a camera's count lines (its tracks are no longer counted across lines)",
		Args:  cobra.NoArgs, PreRunE: parse,
	}, publish)
	for _, sub := range []*cobra.Command{set, clearCmd} {
		sub.Flags().StringVar(&camera, "camera", "", "camera id (required)")
		_ = sub.MarkFlagRequired("camera")
	}

	list := g.connCmd(jsonFlag(&cobra.Command{Use: "list", Short: "List the count lines in force, per camera", Args: cobra.NoArgs}, "print JSON, by camera"),
		func(cmd *cobra.Command, conn *broker.Conn, _ []string) (out, error) {
			all, err := zones.Read(cmd.Context(), conn)
			return table(all, zones.Write), err
		})

	var sf stores.Config
	counts := storeCmd(jsonFlag(&cobra.Command{
		Use:   "counts --clickhouse host:9000 [--camera ID]",
		Short: "Crossings stored in ClickHouse per camera, line, direction and class",
		Args:  cobra.NoArgs,
	}, "print JSON"), &sf, func(cmd *cobra.Command, st *clickhouse.Store) (out, error) {
		rows, err := st.LineCounts(cmd.Context(), camera)
		return table(rows, clickhouse.WriteLineCounts), err
	})
	sf.RegisterFlags(counts.Flags(), false)
	counts.Flags().StringVar(&camera, "camera", "", "only this camera")
	cmd.AddCommand(set, clearCmd, list, counts)
	return cmd
}
