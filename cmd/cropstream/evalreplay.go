package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/fieldrun"
	"github.com/cropstream/cropstream/processors/track"
)

func newEvalReplayCmd() *cobra.Command {
	var (
		files       []string
		asJSON      bool
		countScores []float64
		params      track.Params
	)
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Score the tracker again on the detections a run saved (eval --replay-file): counts per row, HOTA/MOTA/IDF1, ByteTrack",
		Long: `Run the tracker over the detections and truth that 'cropstream eval
--replay-file' saved, and report the count per row and the tracking scores as
eval does. The detector is most of the cost of eval: a tracker change can be
measured on many fields in seconds this way.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			var reps []*fieldrun.ReplayReport
			for _, f := range files {
				rp, err := fieldrun.ReadReplay(f)
				if err != nil {
					return err
				}
				p := params
				p.CountScores = countScores
				rep, err := rp.Score(p)
				if err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
				reps = append(reps, rep)
				if asJSON {
					continue
				}
				rep.PrintLine(out)
			}
			if asJSON {
				return printJSON(out, reps)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&files, "file", nil, "replay files (comma-separated or repeated)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.Float64SliceVar(&countScores, "count-scores", nil, "per class count scores (default: those the run used)")
	// Tracker settings to try (0: the tracker's default).
	f.Float64Var(&params.RecoverDist, "recover-dist", 0, "tracker RecoverDist")
	f.Float64Var(&params.DuplicateIoU, "duplicate-iou", 0, "tracker DuplicateIoU")
	f.Float64Var(&params.LowMatchIoU, "low-match-iou", 0, "tracker LowMatchIoU")
	f.Float64Var(&params.MatchIoU, "match-iou", 0, "tracker MatchIoU")
	f.Float64Var(&params.NewTrackScore, "new-track-score", 0, "tracker NewTrackScore")
	f.IntVar(&params.MinHits, "min-hits", 0, "tracker MinHits")
	f.Float64Var(&params.MaxLostShift, "max-lost-shift", 0, "tracker MaxLostShift")
	return cmd
}
