package fieldrun

import (
	"fmt"
	"io"
	"strings"

	"github.com/cropstream/cropstream/processors/track"
)

// CountScoreReport is what `eval calibrate` reports.
type CountScoreReport struct {
	Scenarios []string `json:"scenarios"`
	Classes   []string `json:"classes"`
	// CountScores per class; 0 for a class none of the scenarios has.
	CountScores []float64 `json:"count_scores"`
	Visible     []int     `json:"visible"`
	Counted     []int     `json:"counted"`
	// Metadata is the value for the model's count_scores key.
	Metadata string `json:"metadata"`
}

// CalibrateCountScores finds the model's count scores on the runs reps of
// scenarios (track.CalibrateCountScores) and what the tracker counts with
// them.
func CalibrateCountScores(p track.Params, scenarios []string, reps []*Report) *CountScoreReport {
	var streams []track.Labelled
	var classes []string
	for _, rep := range reps {
		streams = append(streams, rep.Labelled)
		if len(rep.Labelled.Visible) > len(classes) {
			classes = rep.Classes
		}
	}
	r := &CountScoreReport{Scenarios: scenarios, Classes: classes}
	r.CountScores = track.CalibrateCountScores(p, streams, len(classes))
	p.CountScores = r.CountScores
	r.Counted = track.CountByClass(p, streams, len(classes))
	r.Visible = make([]int, len(classes))
	for _, s := range streams {
		for c, n := range s.Visible {
			r.Visible[c] += n
		}
	}
	var meta []string
	for _, v := range r.CountScores {
		if v == 0 {
			v = 0.5 // the tracker's default for a class without one
		}
		meta = append(meta, fmt.Sprintf("%.3f", v))
	}
	r.Metadata = strings.Join(meta, ",")
	return r
}

// Print writes the report as `eval calibrate` prints it without --json.
func (r *CountScoreReport) Print(out io.Writer) {
	for c, name := range r.Classes {
		if r.Visible[c] == 0 {
			fmt.Fprintf(out, "%-14s no visible units in these scenarios: not calibrated\n", name)
			continue
		}
		fmt.Fprintf(out, "%-14s count score %.3f  (counts %d of %d visible)\n", name, r.CountScores[c], r.Counted[c], r.Visible[c])
	}
	fmt.Fprintf(out, "metadata: count_scores=%s\n", r.Metadata)
}
