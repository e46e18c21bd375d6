package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/fieldmap"
	"github.com/cropstream/cropstream/fieldrun"
	"github.com/cropstream/cropstream/processors/aggregate"
	"github.com/cropstream/cropstream/sampleplan"
	"github.com/cropstream/cropstream/schema"
)

func newFieldsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "fields", Short: "The field map: what each block is (crop, rows, plants, spacing)"}
	var blocks []*schema.FieldBlock
	apply := g.connCmd(&cobra.Command{
		Use:   "apply FILE",
		Short: "Check a field map (YAML) and publish it to the running stages",
		Long: `Check a field map and publish each block to the compacted fields topic. The
track stage places every counted object on its plant from it, and the
aggregate stage takes each block's crop and rows from it: a block's window
closes when every row listed has been passed. Running stages see a change
without a restart. See docs/season.md for the format.`,
		Example: `  cropstream fields apply farm.yaml`,
		Args:    cobra.ExactArgs(1),
		PreRunE: check(func(args []string) (err error) { blocks, err = fieldmap.ParseFile(args[0]); return err }),
	}, func(cmd *cobra.Command, conn *broker.Conn, _ []string) (out, error) {
		return report(nil, func(w io.Writer) { fieldmap.WritePublished(w, blocks) }), fieldmap.Publish(cmd.Context(), conn, blocks, nil)
	})
	get := g.connCmd(jsonFlag(&cobra.Command{Use: "get", Short: "Print the field map in force and the hand counts of each block", Args: cobra.NoArgs}, "print JSON"),
		func(cmd *cobra.Command, conn *broker.Conn, _ []string) (out, error) {
			in, err := fieldmap.Read(cmd.Context(), conn)
			return out{v: in, text: in.Write}, err
		})
	cmd.AddCommand(apply, get)
	return cmd
}

func newHandCountsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "handcounts", Short: "Hand-counted sample plants that calibrate a block's yield"}
	var (
		block, field string
		csv          []byte
	)
	add := g.connCmd(&cobra.Command{
		Use:   "add --block B FILE",
		Short: "Publish a block's hand counts (CSV: plant_id,count[,mean_mass_g])",
		Long: `Publish a block's hand counts, merged with those already in force (a plant
counted again replaces its earlier count), to the compacted hand-counts topic.
The aggregate stage calibrates the block with them as soon as they arrive and
emits its estimate again. Plant ids are ROW-Pnnn (B1-R1-P004 is the fourth
plant of row B1-R1); with a field map in force they must be plants of it.`,
		Example: `  cropstream handcounts add --block B1 counts.csv`,
		Args:    cobra.ExactArgs(1),
		PreRunE: check(func(args []string) (err error) { csv, err = os.ReadFile(args[0]); return err }),
	}, func(cmd *cobra.Command, conn *broker.Conn, args []string) (out, error) {
		in, err := fieldmap.Read(cmd.Context(), conn)
		if err != nil {
			return out{}, err
		}
		if in.Blocks[block] == nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "warning: block %s is not in the field map: plants cannot be checked or placed until it is (cropstream fields apply)\n", block)
		}
		rec, err := in.AddHandCounts(cmd.Context(), conn, block, field, args[0], bytes.NewReader(csv))
		return say("block %s: %d sample plants in force", block, len(rec.GetPlants())), err
	})
	add.Flags().StringVar(&block, "block", "", "block id (required)")
	add.Flags().StringVar(&field, "field", "", "field id (default: the field map's)")
	_ = add.MarkFlagRequired("block")
	cmd.AddCommand(add)
	return cmd
}

func newYieldCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "yield", Short: "Yield estimates: close a block's window, read the latest"}
	var (
		block, field string
		wait         time.Duration
	)
	closeCmd := g.connCmd(&cobra.Command{
		Use:   "close --block B",
		Short: "Close a block's window now and emit its final estimate",
		Long: `A block's window closes by itself when every row of the field map has been
passed (a stream's end, or a camera silent for the track stage's idle gap).
close forces it, for a block whose rows will not all be passed.`,
		Args: cobra.NoArgs,
	}, func(cmd *cobra.Command, conn *broker.Conn, _ []string) (out, error) {
		return say("asked to close block %s", block), aggregate.CloseWindow(cmd.Context(), conn, block, field)
	})
	closeCmd.Flags().StringVar(&field, "field", "", "field id")
	get := g.connCmd(&cobra.Command{
		Use:   "get --block B",
		Short: "Print the block's latest final estimate (waiting up to --wait for one)",
		Args:  cobra.NoArgs,
	}, func(cmd *cobra.Command, conn *broker.Conn, _ []string) (out, error) {
		y, err := fieldrun.WaitFinalWithin(cmd.Context(), conn, block, wait)
		return jsonOut(y), err
	})
	get.Flags().DurationVar(&wait, "wait", 5*time.Second, "how long to wait for a final estimate")
	for _, sub := range []*cobra.Command{closeCmd, get} {
		sub.Flags().StringVar(&block, "block", "", "block id (required)")
		_ = sub.MarkFlagRequired("block")
	}
	cmd.AddCommand(closeCmd, get)
	return cmd
}

func newPlanCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "plan", Short: "Plan field work: how many plants to hand count"}
	var (
		block, target string
		tgt           float64
	)
	samples := runCmd(jsonFlag(&cobra.Command{
		Use:   "samples",
		Short: "How many sample plants to hand count for a yield within ±target at 95 %, and which",
		Long: `Read the block's camera counts from the objects topic and its rows from the
field map, and print the number of plants to hand count so that the 95 %
yield interval is expected within ±--target, and which plants (spread
along the rows). Before three plants are hand counted the plant-to-plant
spread of the camera's share is the crop profile's prior (sampling.visibility_cv);
after, the spread observed on the hand-counted plants. Checked by simulation
with 'cropstream eval coverage --target'.`,
		Example: `  cropstream plan samples --block B1 --target 5%`,
		Args:    cobra.NoArgs,
		PreRunE: check(func([]string) (err error) {
			if tgt, err = sampleplan.ParseShare(target); err != nil {
				return fmt.Errorf("plan samples: --target: %w", err)
			}
			return nil
		}),
	}, "print JSON"), func(cmd *cobra.Command, _ []string) (out, error) {
		// The objects and fields topics are read as they are: none is created.
		conn, _, err := g.open(cmd.Context())
		if err != nil {
			return out{}, err
		}
		defer conn.Close()
		res, err := sampleplan.ForBlock(cmd.Context(), conn, block, tgt)
		return report(res, res.Print), err
	})
	samples.Flags().StringVar(&block, "block", "", "block id (as in the field map)")
	samples.Flags().StringVar(&target, "target", "5%", "relative half-width of the 95 % yield interval: 5% or 0.05")
	_ = samples.MarkFlagRequired("block")
	cmd.AddCommand(samples)
	return cmd
}
