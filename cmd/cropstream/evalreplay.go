package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/fieldrun"
	"github.com/cropstream/cropstream/processors/track"
)

func newEvalReplayCmd() *cobra.Command {
	var (
		files  []string
		params track.Params
	)
	cmd := runCmd(jsonFlag(&cobra.Command{
		Use:   "replay",
		Short: "Score the tracker again on the detections a run saved (eval --replay-file): counts per row, HOTA/MOTA/IDF1, ByteTrack",
		Long: `Run the tracker over the detections and truth that 'cropstream eval
--replay-file' saved, and report the count per row and the tracking scores as
eval does. The detector is most of the cost of eval: a tracker change can be
measured on many fields in seconds this way.`,
		Args: cobra.NoArgs,
	}, "print JSON"), func(cmd *cobra.Command, _ []string) (out, error) {
		var reps []*fieldrun.ReplayReport
		asJSON, _ := cmd.Flags().GetBool("json")
		for _, f := range files {
			rp, err := fieldrun.ReadReplay(f)
			if err != nil {
				return out{}, err
			}
			rep, err := rp.Score(params)
			if err != nil {
				return out{}, fmt.Errorf("%s: %w", f, err)
			}
			reps = append(reps, rep)
			if !asJSON {
				rep.PrintLine(cmd.OutOrStdout())
			}
		}
		return out{v: reps}, nil
	})
	cmd.Flags().StringSliceVar(&files, "file", nil, "replay files (comma-separated or repeated)")
	params.RegisterFlags(cmd.Flags())
	return cmd
}
