package fieldrun

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/cropstream/cropstream/evaluation"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/simulator"
)

// Replay is what a run of a field saw, kept so that the tracker (or a
// variant of it) can be scored again on the same detections without
// rendering and detecting: the detector is most of a run's cost.
type Replay struct {
	Scenario string  `json:"scenario"`
	Seed     uint64  `json:"seed"`
	PxPerM   float64 `json:"px_per_m"`
	FPS      float64 `json:"fps"`
	// Detections are the detect stage's records (protobuf), in sequence
	// order.
	Detections [][]byte `json:"detections"`
	// Truth are the simulator's boxes per sequence number.
	Truth map[uint64][]simulator.Box `json:"truth"`
	// VisibleByRow are the units visible from the camera per row.
	VisibleByRow map[string]int `json:"visible_by_row"`
	// CountScores are the scores the run counted with (nil: the model's).
	CountScores []float64 `json:"count_scores,omitempty"`
}

// WriteReplay saves a replay as JSON.
func WriteReplay(path string, r *Replay) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	return nil
}

// ReadReplay reads a replay written by WriteReplay.
func ReadReplay(path string) (*Replay, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	var r Replay
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("replay %s: %w", path, err)
	}
	return &r, nil
}

// ReplayReport is a replay's counts per row and tracking scores.
type ReplayReport struct {
	Scenario      string               `json:"scenario"`
	Seed          uint64               `json:"seed"`
	Visible       int                  `json:"visible"`
	Counted       int                  `json:"counted"`
	CountErrorPct float64              `json:"count_error_pct"`
	Rows          []RowReport          `json:"rows"`
	Own           evaluation.MOTResult `json:"own"`
	Standard      StandardScores       `json:"standard"`
	ByteTrack     ReferenceScores      `json:"bytetrack"`
}

// Score runs the tracker with params over the replay's detections and
// scores counts and tracks as a run of the field does.
func (r *Replay) Score(params track.Params) (*ReplayReport, error) {
	var ds []*schema.Detections
	for i, b := range r.Detections {
		d, err := schema.DecodeDetections(b)
		if err != nil {
			return nil, fmt.Errorf("replay detections %d: %w", i, err)
		}
		ds = append(ds, d)
	}
	if params.CountScores == nil {
		params.CountScores = r.CountScores
	}
	rep := &ReplayReport{Scenario: r.Scenario, Seed: r.Seed}
	perRow := map[string]int{}
	track.RunStream(params, track.FramesOf(ds), func(row string, counted []*track.Track) {
		perRow[row] += len(counted)
		rep.Counted += len(counted)
	})
	for _, row := range sortedKeys(r.VisibleByRow) {
		v := r.VisibleByRow[row]
		rep.Visible += v
		rep.Rows = append(rep.Rows, RowReport{RowID: row, TrueCount: v, Counted: perRow[row], CountErrorPct: pct(float64(perRow[row]), float64(v))})
	}
	rep.CountErrorPct = pct(float64(rep.Counted), float64(rep.Visible))
	tr, err := scoreTracking(ds, r.Truth, "", params, evaluation.ByteTrackConfig{PxPerM: r.PxPerM, FrameRate: r.FPS})
	if err != nil {
		return nil, err
	}
	rep.Own, rep.Standard, rep.ByteTrack = tr.Own, tr.Standard, tr.ByteTrack
	return rep, nil
}

func sortedKeys(m map[string]int) []string {
	return slices.Sorted(maps.Keys(m))
}

// PrintLine writes the report on one line: counts, per row errors, and raw
// online MOTA, IDF1 and HOTA beside ByteTrack's.
func (rep *ReplayReport) PrintLine(out io.Writer) {
	var rows string
	for _, r := range rep.Rows {
		rows += fmt.Sprintf(" %s %+.1f%%", r.RowID, r.CountErrorPct)
	}
	s, b := rep.Standard.RawOnline, rep.ByteTrack.RawOnline
	fmt.Fprintf(out, "%-22s count %d/%d %+.1f%% (rows%s)  raw online MOTA %.3f IDF1 %.3f HOTA %.3f | ByteTrack MOTA %.3f IDF1 %.3f HOTA %.3f\n",
		rep.Scenario, rep.Counted, rep.Visible, rep.CountErrorPct, rows, s.MOTA, s.IDF1, s.HOTA, b.MOTA, b.IDF1, b.HOTA)
}
