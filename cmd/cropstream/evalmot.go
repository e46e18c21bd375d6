package main

import (
	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/evaluation"
	"github.com/cropstream/cropstream/simulator"
)

func newEvalMOTCmd() *cobra.Command {
	var (
		gtPath, trPath string
		minVis         float64
	)
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
		r, err := evaluation.ScoreMOTFiles(gtPath, trPath, minVis)
		return report(r, r.Print), err
	})
	f := cmd.Flags()
	f.StringVar(&gtPath, "gt", "gt.txt", "MOTChallenge truth: frame,id,x,y,w,h,conf,class,visibility")
	f.StringVar(&trPath, "tracks", "tracks.txt", "MOTChallenge results: frame,id,x,y,w,h,...")
	f.Float64Var(&minVis, "min-visibility", simulator.VisibleThreshold, "visible-only scoring: truth under this visibility is a distractor")
	return cmd
}
