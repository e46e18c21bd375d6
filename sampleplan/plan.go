package sampleplan

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/fieldmap"
	"github.com/cropstream/cropstream/schema"
)

// Result is a block's sample plan.
type Result struct {
	crops.Plan
	Block     string  `json:"block"`
	Crop      string  `json:"crop"`
	TargetPct float64 `json:"target_pct"`
	// Counted is the block's camera count; Placed the objects placed on a
	// plant.
	Counted int `json:"counted"`
	Placed  int `json:"placed"`
	// HandCounted are the plants already hand counted; Plants the plants to
	// count, spread along the rows (those already counted first).
	HandCounted []string `json:"hand_counted"`
	PlantsToAdd []string `json:"plants_to_count"`
}

// BlockCounts counts the camera's objects of block per plant (object ids
// once each; controls skipped), placed as the aggregate stage places them:
// the track stage's plant id, else the position along the row against the
// field map. It returns the counts per plant, the block's total and how
// many were placed.
func BlockCounts(objs []*schema.CountedObject, fb *schema.FieldBlock) (perPlant map[string]int, total, placed int) {
	perPlant = map[string]int{}
	seen := map[string]bool{}
	for _, o := range objs {
		if o.GetControl() != "" || o.GetBlockId() != fb.GetBlockId() || seen[o.GetObjectId()] {
			continue
		}
		seen[o.GetObjectId()] = true
		total++
		id := o.GetPlantId()
		if id == "" {
			i, ok := fieldmap.PlantIndex(fieldmap.RowOf(fb, o.GetRowId()), o.PositionM)
			if !ok {
				continue
			}
			id = fieldmap.PlantID(o.GetRowId(), i)
		}
		perPlant[id]++
		placed++
	}
	return perPlant, total, placed
}

// Make plans the block's hand counts for a relative half-width target at
// 95 %. hand may be nil (nothing counted yet: the crop profile's prior).
func Make(prof *crops.Profile, fb *schema.FieldBlock, objs []*schema.CountedObject, hand *schema.HandCounts, target float64) (*Result, error) {
	if fb == nil {
		return nil, errors.New("sample plan: no field map for the block")
	}
	perPlant, total, placed := BlockCounts(objs, fb)
	if total == 0 {
		return nil, fmt.Errorf("sample plan: block %s has no counted objects yet: pass the camera along its rows first", fb.GetBlockId())
	}
	var rows []crops.RowPlants
	var counts []int
	for _, r := range fb.GetRows() {
		rows = append(rows, crops.RowPlants{Row: r.GetRowId(), Plants: int(r.GetPlants())})
		for i := range int(r.GetPlants()) {
			counts = append(counts, perPlant[fieldmap.PlantID(r.GetRowId(), i)])
		}
	}
	in := crops.PlanInput{Counts: counts, Target: target, HandCounted: map[string]int{}}
	res := &Result{Block: fb.GetBlockId(), Crop: prof.Name, TargetPct: 100 * target, Counted: total, Placed: placed}
	done := map[string]bool{}
	for _, h := range fieldmap.Crops(hand) {
		in.Hand = append(in.Hand, h)
		in.HandCounted[h.PlantID] = perPlant[h.PlantID]
		res.HandCounted = append(res.HandCounted, h.PlantID)
		done[h.PlantID] = true
	}
	pl, err := crops.PlanSamples(prof, in)
	if err != nil {
		return nil, err
	}
	res.Plan = pl
	res.PlantsToAdd = morePlants(rows, done, pl.Samples)
	return res, nil
}

// morePlants returns the plants to add so that n are counted, spread along
// the rows taken end to end: with none counted yet, the middles of n equal
// stretches; otherwise each new plant is the one farthest from every plant
// already chosen (ties to the first), so that new plants fill the gaps the
// counted ones leave.
func morePlants(rows []crops.RowPlants, done map[string]bool, n int) []string {
	need := n - len(done)
	if need <= 0 {
		return nil
	}
	var ids []string
	for _, r := range rows {
		for i := range r.Plants {
			ids = append(ids, fieldmap.PlantID(r.Row, i))
		}
	}
	var out []string
	if len(done) == 0 {
		for _, rp := range crops.SpreadPlants(rows, n) {
			out = append(out, fieldmap.PlantID(rows[rp[0]].Row, rp[1]))
		}
		return out
	}
	chosen := make([]bool, len(ids))
	for i, id := range ids {
		chosen[i] = done[id]
	}
	for range need {
		best, bestD := -1, -1
		for i := range ids {
			if chosen[i] {
				continue
			}
			d := len(ids)
			for j := range ids {
				if chosen[j] {
					d = min(d, abs(i-j))
				}
			}
			if d > bestD {
				best, bestD = i, d
			}
		}
		if best < 0 {
			break
		}
		chosen[best] = true
		out = append(out, ids[best])
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// ParseShare reads a relative target: "5%", "5 %" or "0.05".
func ParseShare(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	t = strings.TrimSpace(strings.TrimSuffix(t, "%"))
	v, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a share (5%% or 0.05)", s)
	}
	if pct || v >= 1 {
		v /= 100
	}
	if v <= 0 || v >= 1 {
		return 0, fmt.Errorf("%q: want between 0 and 100 %%", s)
	}
	return v, nil
}

// Prior plans a block before the camera has passed: plants plants, each
// expected to show countedPerPlant items to the camera, the crop profile's
// prior for the spread. What `eval --sample-target` hand counts.
func Prior(prof *crops.Profile, plants int, countedPerPlant, target float64) (crops.Plan, error) {
	c := max(1, int(math.Round(countedPerPlant)))
	counts := make([]int, plants)
	for i := range counts {
		counts[i] = c
	}
	return crops.PlanSamples(prof, crops.PlanInput{Counts: counts, Target: target})
}
