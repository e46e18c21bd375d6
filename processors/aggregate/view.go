package aggregate

import (
	"maps"
	"slices"

	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/schema"
)

// BlockView is a read-only copy of a block's entry in the aggregate table,
// for query endpoints and the live page.
type BlockView struct {
	FieldID string `json:"field_id"`
	// Units are the objects counted in the running window; PerRow and
	// Plants split them by row and by plant (index 0 is a row's first plant).
	Units    int              `json:"units"`
	PerRow   map[string]int   `json:"per_row"`
	Plants   map[string][]int `json:"plants"`
	Unplaced int              `json:"unplaced"`
	// WindowStartUnixNs and WindowEndUnixNs bound the running window's
	// capture times (0 while nothing is in it).
	WindowStartUnixNs int64 `json:"window_start_unix_ns"`
	WindowEndUnixNs   int64 `json:"window_end_unix_ns"`
	// PassesRunning are camera/row passes not yet ended; RowsDone the rows
	// whose pass ended in this window.
	PassesRunning []string `json:"passes_running"`
	RowsDone      []string `json:"rows_done"`
	SamplePlants  int      `json:"sample_plants"`
	// Last is the window closed last (its final estimate was sent).
	Last *WindowView `json:"last_window,omitempty"`

	st *blockState
}

// WindowView is a closed window.
type WindowView struct {
	Units             int              `json:"units"`
	Plants            map[string][]int `json:"plants"`
	WindowStartUnixNs int64            `json:"window_start_unix_ns"`
	WindowEndUnixNs   int64            `json:"window_end_unix_ns"`
	RowsDone          int              `json:"rows_done"`
}

// DecodeState reads an aggregate table value (any encoding the stage reads)
// into a BlockView.
func DecodeState(b []byte) (*BlockView, error) {
	st, err := decodeState(b)
	if err != nil {
		return nil, err
	}
	bv := &BlockView{FieldID: st.FieldID, Units: st.Units, PerRow: maps.Clone(st.PerRow), Plants: plantsView(st.Plants),
		Unplaced: st.Unplaced, WindowStartUnixNs: st.WindowStart, WindowEndUnixNs: st.WindowEnd,
		PassesRunning: slices.Sorted(maps.Keys(st.Passes)), RowsDone: slices.Sorted(maps.Keys(st.RowsDone)),
		SamplePlants: len(st.Hand), st: st}
	if st.Last != nil {
		bv.Last = &WindowView{Units: st.Last.Units, Plants: plantsView(st.Last.Plants), WindowStartUnixNs: st.Last.WindowStart,
			WindowEndUnixNs: st.Last.WindowEnd, RowsDone: st.Last.RowsDone}
	}
	return bv, nil
}

func plantsView(p map[string]plantCounts) map[string][]int {
	out := make(map[string][]int, len(p))
	for row, cs := range p {
		r := make([]int, len(cs))
		for i, c := range cs {
			r[i] = int(c)
		}
		out[row] = r
	}
	return out
}

// Estimate is the block's latest estimate as the stage computes it: of the
// running window (provisional) while it holds objects or passes, else of the
// window closed last (final); nil when the block has neither. fb is the
// block's field map entry (nil: not mapped), def the profile of unmapped
// blocks (nil: apple). It is computed again from the table, so its
// EmittedUnixNs is now, and a provisional one's id lacks the trigger.
func (v *BlockView) Estimate(block string, fb *schema.FieldBlock, def *crops.Profile) (*schema.YieldEstimate, error) {
	p, err := New(Config{Default: def}, nil)
	if err != nil {
		return nil, err
	}
	st := v.st
	switch {
	case st.Units > 0 || len(st.Passes) > 0:
		return p.estimate(block, st, fb, st.window(), "query"), nil
	case st.Last != nil:
		y := p.estimate(block, st, fb, *st.Last, "query")
		y.Final = true
		return y, nil
	}
	return nil, nil
}
