package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/fleet"
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
