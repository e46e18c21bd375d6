package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/fieldmap"
	"github.com/cropstream/cropstream/sampleplan"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

func newPlanCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "plan", Short: "Plan field work: how many plants to hand count"}
	var (
		block, target string
		asJSON        bool
	)
	samples := &cobra.Command{
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			tgt, err := sampleplan.ParseShare(target)
			if err != nil {
				return fmt.Errorf("plan samples: --target: %w", err)
			}
			ctx := cmd.Context()
			conn, _, err := g.open(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			in, err := fieldmap.Read(ctx, conn)
			if err != nil {
				return fmt.Errorf("plan samples: read field map: %w", err)
			}
			fb, ok := in.Blocks[block]
			if !ok {
				return fmt.Errorf("plan samples: block %s is not in the field map (cropstream fields apply)", block)
			}
			prof, err := crops.Load(fb.GetCrop())
			if err != nil {
				return err
			}
			recs, err := broker.ReadAll(ctx, conn, topology.Objects, time.Second)
			if err != nil {
				return fmt.Errorf("plan samples: read objects: %w", err)
			}
			var objs []*schema.CountedObject
			for _, r := range recs {
				if o, err := schema.DecodeCountedObject(r.Value); err == nil {
					objs = append(objs, o)
				}
			}
			res, err := sampleplan.Make(prof, fb, objs, in.HandCounts[block], tgt)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return printJSON(out, res)
			}
			fmt.Fprintf(out, "block %s (%s): %d plants, %d objects counted (%d placed on plants)\n", res.Block, res.Crop, res.Plants, res.Counted, res.Placed)
			fmt.Fprintf(out, "plant-to-plant spread: CV %.3f from the %s\n", res.CV, res.Source)
			if res.Reached {
				fmt.Fprintf(out, "hand count %d plants for ±%.1f %% at 95 %% (expected ±%.1f %%)\n", res.Samples, res.TargetPct, 100*res.HalfWidth)
			} else {
				fmt.Fprintf(out, "±%.1f %% is out of reach: counting all %d plants gives ±%.1f %% (the item mass remains)\n", res.TargetPct, res.Plants, 100*res.HalfWidth)
			}
			if len(res.HandCounted) > 0 {
				fmt.Fprintf(out, "already hand counted (%d): %s\n", len(res.HandCounted), strings.Join(res.HandCounted, " "))
			}
			if len(res.PlantsToAdd) > 0 {
				fmt.Fprintf(out, "plants to count (%d): %s\n", len(res.PlantsToAdd), strings.Join(res.PlantsToAdd, " "))
			}
			return nil
		},
	}
	f := samples.Flags()
	f.StringVar(&block, "block", "", "block id (as in the field map)")
	f.StringVar(&target, "target", "5%", "relative half-width of the 95 % yield interval: 5% or 0.05")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	_ = samples.MarkFlagRequired("block")
	cmd.AddCommand(samples)
	return cmd
}
