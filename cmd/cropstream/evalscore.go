package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/evaluation"
	"github.com/cropstream/cropstream/fieldrun"
	"github.com/cropstream/cropstream/processors/track"
)

func newEvalMOTCmd() *cobra.Command {
	var files evaluation.MOTFiles
	cmd := runCmd(jsonFlag(&cobra.Command{
		Use:   "mot",
		Short: "Score MOTChallenge files (gt.txt, tracks.txt from eval --mot-dir) by TrackEval's rules: HOTA, MOTA, IDF1",
		Long: `Score a tracker's MOTChallenge results against MOTChallenge truth as TrackEval
does (HOTA with DetA/AssA/LocA, CLEAR MOT, identity metrics; IoU, Hungarian
matching), twice: on every truth box (raw), and with truth whose visibility
column is under --min-visibility handled as MOTChallenge distractors
(visible-only: hypotheses matched to them are dropped, then they are).`,
		Args: cobra.NoArgs,
	}, "print JSON"), func(*cobra.Command, []string) (out, error) {
		r, err := files.Score()
		return report(r, r.Print), err
	})
	files.RegisterFlags(cmd.Flags())
	return cmd
}

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

func newEvalCoverageCmd() *cobra.Command {
	var c fieldrun.CoverageFlags
	cmd := runCmd(jsonFlag(&cobra.Command{
		Use:   "coverage",
		Short: "Share of seeded fields whose 95 % yield interval holds the true yield; checks a sample plan",
		Long: `Render --fields fields of --crop (its builtin scenario with seeds from
--first-seed on, optionally --rows and --plants per row), run the tracker on what
a perfect detector gives (units at least 25 % visible: the sweep measures the
sampling, and is affordable on 2 cores), place counted objects on plants as the
aggregate stage does, and hand count --samples plants spread along the rows
from the truth. Reports, per estimator, the share of fields whose 95 %
interval holds the true yield, the median half-width and the RMS error; with
--target, also how often the plan of 'cropstream plan samples' (from the
profile's prior) gives an estimate within ±target.`,
		Example: `  cropstream eval coverage --crop grape --fields 40 --target 10%`,
		Args:    cobra.NoArgs,
	}, "print JSON"), func(cmd *cobra.Command, _ []string) (out, error) {
		rep, err := c.Run(cmd.ErrOrStderr())
		return report(rep, rep.Print), err
	})
	c.RegisterFlags(cmd.Flags())
	return cmd
}
