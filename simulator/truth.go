package simulator

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
)

// Truth is what truth.json holds: every unit, per plant and row, with what the
// camera could see and the true yield.
type Truth struct {
	Scenario         string        `json:"scenario"`
	Seed             uint64        `json:"seed"`
	Crop             string        `json:"crop"`
	Field            string        `json:"field"`
	Block            string        `json:"block"`
	ClassNames       []string      `json:"class_names"`
	VisibleThreshold float64       `json:"visible_threshold"`
	Frames           int           `json:"frames"`
	Totals           Counts        `json:"totals"`
	Rows             []RowTruth    `json:"rows"`
	Units            []Unit        `json:"units"`
	Occlusion        OcclusionStat `json:"occlusion"`
}

// Counts are unit counts and masses of a plant, row or block.
type Counts struct {
	Units        int     `json:"units"`
	VisibleUnits int     `json:"visible_units"`
	YieldKg      float64 `json:"yield_kg"`
	VisibleKg    float64 `json:"visible_yield_kg"`
}

func (c *Counts) add(u Unit) {
	c.Units++
	c.YieldKg += u.MassG / 1000
	if u.Visible {
		c.VisibleUnits++
		c.VisibleKg += u.MassG / 1000
	}
}

// RowTruth is one row and its plants.
type RowTruth struct {
	RowID  string       `json:"row_id"`
	Counts              // embedded: units, visible_units, yield_kg, ...
	Plants []PlantTruth `json:"plants"`
}

// PlantTruth is one plant; UnitIDs lists all its units, VisibleIDs those the
// camera saw (a subset).
type PlantTruth struct {
	PlantID    string    `json:"plant_id"`
	XM         float64   `json:"x_m"`
	Counts               // embedded
	MassesG    []float64 `json:"masses_g"`
	UnitIDs    []int     `json:"unit_ids"`
	VisibleIDs []int     `json:"visible_ids"`
}

// OcclusionStat reports how hidden the rendered units really were.
type OcclusionStat struct {
	// MeanHiddenAtBest is the mean of 1 - max visibility over rendered units.
	MeanHiddenAtBest float64 `json:"mean_hidden_at_best"`
	FarSideShare     float64 `json:"far_side_share"`
	NeverVisible     int     `json:"never_visible"`
}

// Truth summarises the layout; call it after the last frame, when every
// unit's visibility is known.
func (s *Simulator) Truth() *Truth {
	sc := s.sc
	t := &Truth{Scenario: sc.Name, Seed: sc.Seed, Crop: sc.Crop, Field: sc.Field, Block: sc.Block,
		ClassNames: ClassNames, VisibleThreshold: VisibleThreshold, Frames: s.index, Units: s.layout.Units}
	var hidden float64
	rendered, far := 0, 0
	for row, plants := range s.layout.Plants {
		rt := RowTruth{RowID: sc.RowID(row)}
		for _, pl := range plants {
			pt := PlantTruth{PlantID: pl.ID, XM: pl.XM, MassesG: []float64{}, UnitIDs: []int{}, VisibleIDs: []int{}}
			for _, ui := range pl.Units {
				u := s.layout.Units[ui]
				pt.add(u)
				pt.MassesG = append(pt.MassesG, math.Round(u.MassG*10)/10)
				pt.UnitIDs = append(pt.UnitIDs, u.ID)
				if u.Visible {
					pt.VisibleIDs = append(pt.VisibleIDs, u.ID)
				}
				if u.FarSide {
					far++
				} else {
					rendered++
					hidden += 1 - u.MaxVisibility
				}
				if !u.Visible {
					t.Occlusion.NeverVisible++
				}
			}
			rt.Units += pt.Units
			rt.VisibleUnits += pt.VisibleUnits
			rt.YieldKg += pt.YieldKg
			rt.VisibleKg += pt.VisibleKg
			rt.Plants = append(rt.Plants, pt)
		}
		t.Totals.Units += rt.Units
		t.Totals.VisibleUnits += rt.VisibleUnits
		t.Totals.YieldKg += rt.YieldKg
		t.Totals.VisibleKg += rt.VisibleKg
		t.Rows = append(t.Rows, rt)
	}
	if rendered > 0 {
		t.Occlusion.MeanHiddenAtBest = hidden / float64(rendered)
	}
	if n := rendered + far; n > 0 {
		t.Occlusion.FarSideShare = float64(far) / float64(n)
	}
	return t
}

// WriteJSON writes truth.json.
func (t *Truth) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(t)
}

// WriteMOT writes boxes in MOTChallenge gt.txt format: frame, id, left, top,
// width, height, active flag (1), class (class id + 1), visibility.
func WriteMOT(w io.Writer, f *Frame) error {
	boxes := append([]Box(nil), f.Boxes...)
	sort.Slice(boxes, func(a, b int) bool { return boxes[a].UnitID < boxes[b].UnitID })
	for _, b := range boxes {
		if _, err := fmt.Fprintf(w, "%d,%d,%d,%d,%d,%d,1,%d,%.3f\n", f.Index, b.UnitID, b.Rect.Min.X, b.Rect.Min.Y,
			b.Rect.Dx(), b.Rect.Dy(), b.ClassID+1, b.Visibility); err != nil {
			return err
		}
	}
	return nil
}

// WriteYOLO writes one frame's YOLO labels: class cx cy w h, normalised,
// clipped to the frame, for units at least VisibleThreshold visible.
func WriteYOLO(w io.Writer, f *Frame, width, height int) error {
	for _, b := range f.Boxes {
		if b.Visibility < VisibleThreshold {
			continue
		}
		r := b.Clipped(width, height)
		x0, y0, x1, y1 := r.Min.X, r.Min.Y, r.Max.X, r.Max.Y
		if x1-x0 < 2 || y1-y0 < 2 {
			continue
		}
		W, H := float64(width), float64(height)
		if _, err := fmt.Fprintf(w, "%d %.6f %.6f %.6f %.6f\n", b.ClassID, float64(x0+x1)/2/W, float64(y0+y1)/2/H,
			float64(x1-x0)/W, float64(y1-y0)/H); err != nil {
			return err
		}
	}
	return nil
}
