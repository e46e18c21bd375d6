package fieldmap

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/schema"
)

// HandCountsRecord reads a hand-count CSV (plant_id,count[,mean_mass_g]) for
// block, merged over what is in force (nil: nothing yet): a plant counted
// again replaces its earlier count. Every plant must be of the block (its id
// starts with a row of the block when the field map is known).
func HandCountsRecord(block, field string, r io.Reader, current *schema.HandCounts, fb *schema.FieldBlock) (*schema.HandCounts, error) {
	hs, err := crops.ReadHandCounts(r)
	if err != nil {
		return nil, err
	}
	out := &schema.HandCounts{FieldId: field, BlockId: block, UpdatedUnixNs: time.Now().UnixNano()}
	if current != nil {
		out.Plants = slices.Clone(current.GetPlants())
		if field == "" {
			out.FieldId = current.GetFieldId()
		}
	}
	if out.FieldId == "" && fb != nil {
		out.FieldId = fb.GetFieldId()
	}
	for _, h := range hs {
		if fb != nil {
			if err := checkPlant(fb, h.PlantID); err != nil {
				return nil, err
			}
		}
		p := &schema.HandCount{PlantId: h.PlantID, Count: uint32(h.Count), MeanMassG: h.MeanMassG}
		if i := slices.IndexFunc(out.Plants, func(x *schema.HandCount) bool { return x.GetPlantId() == h.PlantID }); i >= 0 {
			out.Plants[i] = p
		} else {
			out.Plants = append(out.Plants, p)
		}
	}
	if _, err := schema.Encode(out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkPlant refuses a plant id that is not a plant of the block's field map.
func checkPlant(fb *schema.FieldBlock, id string) error {
	k := strings.LastIndex(id, "-P")
	if k < 0 {
		return fmt.Errorf("hand counts: plant %q is not ROW-Pnnn", id)
	}
	var n int
	if _, err := fmt.Sscanf(id[k+2:], "%d", &n); err != nil || n < 1 {
		return fmt.Errorf("hand counts: plant %q is not ROW-Pnnn", id)
	}
	r := RowOf(fb, id[:k])
	if r == nil {
		var rows []string
		for _, r := range fb.GetRows() {
			rows = append(rows, r.GetRowId())
		}
		return fmt.Errorf("hand counts: plant %s: block %s has no row %s (rows: %s)", id, fb.GetBlockId(), id[:k], strings.Join(rows, ", "))
	}
	if uint32(n) > r.GetPlants() {
		return fmt.Errorf("hand counts: plant %s: row %s has %d plants", id, r.GetRowId(), r.GetPlants())
	}
	return nil
}

// Crops converts a record to what crops.EstimateYield takes.
func Crops(h *schema.HandCounts) []crops.HandCount {
	var out []crops.HandCount
	for _, p := range h.GetPlants() {
		out = append(out, crops.HandCount{PlantID: p.GetPlantId(), Count: int(p.GetCount()), MeanMassG: p.GetMeanMassG()})
	}
	return out
}

// AddHandCounts merges the CSV r (named name in errors) over block's hand
// counts in force and publishes the result. A block not in the field map is
// taken as it is, its plants neither checked nor placed.
func (in *InForce) AddHandCounts(ctx context.Context, conn *broker.Conn, block, field, name string, r io.Reader) (*schema.HandCounts, error) {
	rec, err := HandCountsRecord(block, field, r, in.HandCounts[block], in.Blocks[block])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rec, Publish(ctx, conn, nil, []*schema.HandCounts{rec})
}
