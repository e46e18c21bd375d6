package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/sinks/clickhouse"
	"github.com/cropstream/cropstream/zones"
)

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
	var camera string
	var specs []string
	var band float64
	set := &cobra.Command{
		Use:   "set --camera ID --line NAME=x1,y1,x2,y2 [--line ...]",
		Short: "Set a camera's count lines, replacing those it had",
		Example: `  cropstream zones set --camera packing-2 --line belt=320,0,320,360
  cropstream zones set --camera gate-1 --line in-lane=0,200,640,200 --line out-lane=640,280,0,280`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := zones.ParseCameraLines(camera, specs, band)
			if err != nil {
				return err
			}
			return g.withConn(cmd.Context(), func(conn *broker.Conn) error {
				if _, err := zones.Set(cmd.Context(), conn, c); err != nil {
					return err
				}
				for _, l := range c.Lines {
					fmt.Fprintf(cmd.OutOrStdout(), "camera %s: line %s\n", camera, l)
				}
				return nil
			})
		},
	}
	set.Flags().StringVar(&camera, "camera", "", "camera id (required)")
	set.Flags().StringArrayVar(&specs, "line", nil, "a count line NAME=x1,y1,x2,y2 in frame pixels (required; repeatable, at most 16)")
	set.Flags().Float64Var(&band, "band", 0, "pixels a track's centre must be off a line before its side counts (0: 2)")
	_ = set.MarkFlagRequired("camera")
	_ = set.MarkFlagRequired("line")

	clearCmd := &cobra.Command{
		Use:   "clear --camera ID",
		Short: "Remove a camera's count lines (its tracks are no longer counted across lines)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := zones.CameraLines{Camera: camera}
			if err := c.Validate(); err != nil {
				return err
			}
			return g.withConn(cmd.Context(), func(conn *broker.Conn) error {
				if _, err := zones.Set(cmd.Context(), conn, c); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "camera %s: count lines removed\n", camera)
				return nil
			})
		},
	}
	clearCmd.Flags().StringVar(&camera, "camera", "", "camera id (required)")
	_ = clearCmd.MarkFlagRequired("camera")

	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the count lines in force, per camera",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withConn(cmd.Context(), func(conn *broker.Conn) error {
				all, err := zones.Read(cmd.Context(), conn)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), all)
				}
				return zones.Write(cmd.OutOrStdout(), all)
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON, by camera")

	var sf sinkFlags
	counts := &cobra.Command{
		Use:   "counts --clickhouse host:9000 [--camera ID]",
		Short: "Crossings stored in ClickHouse per camera, line, direction and class",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := sf.clickhouse(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			rows, err := st.LineCounts(cmd.Context(), camera)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			return clickhouse.WriteLineCounts(cmd.OutOrStdout(), rows)
		},
	}
	sf.register(counts.Flags(), false)
	counts.Flags().StringVar(&camera, "camera", "", "only this camera")
	counts.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(set, clearCmd, list, counts)
	return cmd
}
