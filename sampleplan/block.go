package sampleplan

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/fieldmap"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/simulator"
	"github.com/cropstream/cropstream/topology"
)

// ForBlock plans block at target from what Kafka holds: its rows and crop
// from the field map, its camera counts from the objects topic (records
// that do not decode left out) and its hand counts so far.
func ForBlock(ctx context.Context, conn *broker.Conn, block string, target float64) (*Result, error) {
	in, err := fieldmap.Read(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("plan samples: read field map: %w", err)
	}
	fb, ok := in.Blocks[block]
	if !ok {
		return nil, fmt.Errorf("plan samples: block %s is not in the field map (cropstream fields apply)", block)
	}
	prof, err := crops.Load(fb.GetCrop())
	if err != nil {
		return nil, err
	}
	recs, err := broker.ReadAll(ctx, conn, topology.Objects, time.Second)
	if err != nil {
		return nil, fmt.Errorf("plan samples: read objects: %w", err)
	}
	var objs []*schema.CountedObject
	for _, r := range recs {
		if o, err := schema.DecodeCountedObject(r.Value); err == nil {
			objs = append(objs, o)
		}
	}
	return Make(prof, fb, objs, in.HandCounts[block], target)
}

// PriorSamples is how many plants the crop profile's prior plans for the
// block of a simulated field at target: what a grower would hand count
// before the camera has passed.
func PriorSamples(sc *simulator.Scenario, target float64) (int, error) {
	prof, err := crops.Load(sc.Crop)
	if err != nil {
		return 0, err
	}
	pl, err := Prior(prof, sc.Rows*sc.PlantsPerRow, sc.UnitsPerPlant.Mean*prof.Sampling.Visibility, target)
	if err != nil {
		return 0, err
	}
	return pl.Samples, nil
}

// Print writes the plan as `cropstream plan samples` prints it without
// --json.
func (res *Result) Print(out io.Writer) {
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
}
