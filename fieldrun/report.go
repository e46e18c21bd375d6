package fieldrun

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/cropstream/cropstream/evaluation"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/sinks"
)

// RowReport is one row of the eval report.
type RowReport struct {
	RowID         string  `json:"row_id"`
	TrueCount     int     `json:"true_count"`
	Counted       int     `json:"counted"`
	CountErrorPct float64 `json:"count_error_pct"`
	YieldTrueKg   float64 `json:"yield_true_kg"`
	YieldEstKg    float64 `json:"yield_est_kg"`
}

// Report is what a run of a field gives: counts, yield and tracking scores
// against the truth (`cropstream eval --json` prints it).
type Report struct {
	Scenario      string  `json:"scenario"`
	Seed          uint64  `json:"seed"`
	Block         string  `json:"block"`
	Frames        int     `json:"frames"`
	TrueCount     int     `json:"true_count"`
	Counted       int     `json:"counted"`
	CountErrorPct float64 `json:"count_error_pct"`
	YieldTrueKg   float64 `json:"yield_true_kg"`
	YieldEstKg    float64 `json:"yield_est_kg"`
	YieldLowKg    float64 `json:"yield_est_low_kg"`
	YieldHighKg   float64 `json:"yield_est_high_kg"`
	YieldErrorPct float64 `json:"yield_error_pct"`
	// YieldPerfectKg is what the same calibration gives a counter that
	// counts exactly the units visible from the camera: the part of the
	// yield error the sample plants alone cause (their share of visible
	// units differs from the block's).
	YieldPerfectKg       float64  `json:"yield_perfect_count_kg"`
	YieldPerfectErrorPct float64  `json:"yield_perfect_count_error_pct"`
	Visibility           float64  `json:"visibility_factor"`
	SamplePlants         []string `json:"sample_plants"`
	// MOTA, IDF1 and MOT are the project's own scoring (Tracking.Own):
	// visible-only, offline, greedy matching; not comparable with
	// published figures. Tracking holds TrackEval's.
	MOTA     float64              `json:"mota"`
	IDF1     float64              `json:"idf1"`
	MOT      evaluation.MOTResult `json:"mot"`
	Tracking StandardScores       `json:"tracking_standard"`
	// ByteTrack is the reference tracker on the same detections.
	ByteTrack   ReferenceScores       `json:"tracking_bytetrack"`
	Rows        []RowReport           `json:"rows"`
	DeadLetters int64                 `json:"dead_letters"`
	ElapsedS    float64               `json:"elapsed_s"`
	Stages      map[string]StageStats `json:"stages"`
	Analytics   *AnalyticsReport      `json:"analytics,omitempty"`
	// Labelled is the tracker's input with the truth, for eval calibrate.
	Labelled track.Labelled `json:"-"`
	// Classes are the simulator's class names.
	Classes []string `json:"-"`
}

// AnalyticsReport says where the sink stored the rows and how many.
type AnalyticsReport struct {
	Store string           `json:"store"`
	Rows  map[string]int64 `json:"rows"`
}

// StageStats are a stage's records and rate over the run.
type StageStats struct {
	Records int64   `json:"records"`
	PerS    float64 `json:"per_s"`
}

// PrintReport prints the per-row counts and the block's yield.
func PrintReport(out io.Writer, rep *Report) {
	fmt.Fprintf(out, "scenario %s (seed %d, block %s): %d frames in %.1f s\n\n", rep.Scenario, rep.Seed, rep.Block, rep.Frames, rep.ElapsedS)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ROW\tVISIBLE UNITS\tCOUNTED\tCOUNT ERR %\tTRUE KG\tEST. KG\t")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%+.1f\t%.1f\t%.1f\t\n", r.RowID, r.TrueCount, r.Counted, r.CountErrorPct, r.YieldTrueKg, r.YieldEstKg)
	}
	fmt.Fprintf(tw, "block %s\t%d\t%d\t%+.1f\t%.1f\t%.1f\t\n", rep.Block, rep.TrueCount, rep.Counted, rep.CountErrorPct, rep.YieldTrueKg, rep.YieldEstKg)
	tw.Flush()
	interval, from := "95% interval", fmt.Sprintf("from %d sample plants", len(rep.SamplePlants))
	if len(rep.SamplePlants) == 0 {
		interval, from = "range", "the crop profile's prior: no plant hand counted"
	}
	fmt.Fprintf(out, "\nyield %.1f kg (%s %.1f - %.1f), truth %.1f kg, error %+.1f%%; visibility factor %.3f %s\n",
		rep.YieldEstKg, interval, rep.YieldLowKg, rep.YieldHighKg, rep.YieldTrueKg, rep.YieldErrorPct, rep.Visibility, from)
	fmt.Fprintf(out, "a perfect count with the same sample plants: %.1f kg, error %+.1f%% (what sampling alone costs)\n", rep.YieldPerfectKg, rep.YieldPerfectErrorPct)
	if a := rep.Analytics; a != nil {
		var parts []string
		for _, t := range sinks.Tables() {
			parts = append(parts, fmt.Sprintf("%s %d", t.Name, a.Rows[t.Name]))
		}
		fmt.Fprintf(out, "analytics rows: %s -> %s\n", strings.Join(parts, ", "), a.Store)
	}
}

// PrintTracking prints the tracking scores `eval` adds: the project's own,
// then TrackEval's labelled by what they score, then the ByteTrack
// reference.
func PrintTracking(out io.Writer, rep *Report) {
	fmt.Fprintf(out, "tracking, project's own (visible-only, offline, greedy): MOTA %.3f  IDF1 %.3f  (FN %d, FP %d, ID switches %d)\n",
		rep.MOTA, rep.IDF1, rep.MOT.FN, rep.MOT.FP, rep.MOT.IDSW)
	fmt.Fprintln(out, "tracking, TrackEval's rules:")
	t := rep.Tracking
	t.RawOnline.Print(out, "  raw truth, online")
	t.RawOffline.Print(out, "  raw truth, offline")
	t.VisibleOnline.Print(out, "  visible-only, online")
	t.VisibleOffline.Print(out, "  visible-only, offline")
	fmt.Fprintln(out, "reference: ByteTrack given the camera's motion, same detections, online:")
	rep.ByteTrack.RawOnline.Print(out, "  raw truth")
	rep.ByteTrack.VisibleOnline.Print(out, "  visible-only")
}

// PrintStages prints each stage's records and rate, in name order, and the
// dead letters: the line `run --scenario` adds.
func PrintStages(out io.Writer, rep *Report) {
	var names []string
	for n := range rep.Stages {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprint(out, "stages:")
	for _, n := range names {
		fmt.Fprintf(out, "  %s %d (%.0f/s)", n, rep.Stages[n].Records, rep.Stages[n].PerS)
	}
	fmt.Fprintf(out, "; dead letters %d\n", rep.DeadLetters)
}
