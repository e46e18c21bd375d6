package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/evaluation"
	"github.com/cropstream/cropstream/fieldrun"
	"github.com/cropstream/cropstream/simulator"
)

// motFileReport is what eval mot prints.
type motFileReport struct {
	GT          string              `json:"gt"`
	Tracks      string              `json:"tracks"`
	MinVis      float64             `json:"min_visibility"`
	Raw         evaluation.Standard `json:"raw"`
	VisibleOnly evaluation.Standard `json:"visible_only"`
}

func newEvalMOTCmd() *cobra.Command {
	var (
		gtPath, trPath string
		minVis         float64
		asJSON         bool
	)
	cmd := &cobra.Command{
		Use:   "mot",
		Short: "Score MOTChallenge files (gt.txt, tracks.txt from eval --mot-dir) by TrackEval's rules: HOTA, MOTA, IDF1",
		Long: `Score a tracker's MOTChallenge results against MOTChallenge truth as TrackEval
does (HOTA with DetA/AssA/LocA, CLEAR MOT, identity metrics; IoU, Hungarian
matching), twice: on every truth box (raw), and with truth whose visibility
column is under --min-visibility handled as MOTChallenge distractors
(visible-only: hypotheses matched to them are dropped, then they are).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			read := func(path string, truth bool) (map[int][]evaluation.MOTBox, error) {
				f, err := os.Open(path)
				if err != nil {
					return nil, err
				}
				defer f.Close()
				m, err := evaluation.ReadMOT(f, minVis, truth)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", path, err)
				}
				return m, nil
			}
			gt, err := read(gtPath, true)
			if err != nil {
				return err
			}
			tr, err := read(trPath, false)
			if err != nil {
				return err
			}
			frames := evaluation.MOTFrames(gt, tr)
			r := motFileReport{GT: gtPath, Tracks: trPath, MinVis: minVis,
				Raw: evaluation.ScoreStandard(frames, false), VisibleOnly: evaluation.ScoreStandard(frames, true)}
			out := cmd.OutOrStdout()
			if asJSON {
				return printJSON(out, r)
			}
			printStandard(out, "raw truth", r.Raw)
			printStandard(out, fmt.Sprintf("visible-only (>= %.2f)", minVis), r.VisibleOnly)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&gtPath, "gt", "gt.txt", "MOTChallenge truth: frame,id,x,y,w,h,conf,class,visibility")
	f.StringVar(&trPath, "tracks", "tracks.txt", "MOTChallenge results: frame,id,x,y,w,h,...")
	f.Float64Var(&minVis, "min-visibility", simulator.VisibleThreshold, "visible-only scoring: truth under this visibility is a distractor")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// printStandard prints one line of TrackEval's headline metrics.
func printStandard(out io.Writer, label string, s evaluation.Standard) {
	fmt.Fprintf(out, "%-28s HOTA %.3f (DetA %.3f AssA %.3f LocA %.3f)  MOTA %.3f  IDF1 %.3f  IDSW %d  Frag %d  FP %d  FN %d\n",
		label, s.HOTA, s.DetA, s.AssA, s.LocA, s.MOTA, s.IDF1, s.IDSW, s.Frag, s.FP, s.FN)
}

// printTracking prints a field's tracking scores, the standard ones labelled
// by what they score.
func printTracking(out io.Writer, rep *fieldrun.Report) {
	fmt.Fprintf(out, "tracking, project's own (visible-only, offline, greedy): MOTA %.3f  IDF1 %.3f  (FN %d, FP %d, ID switches %d)\n",
		rep.MOTA, rep.IDF1, rep.MOT.FN, rep.MOT.FP, rep.MOT.IDSW)
	fmt.Fprintln(out, "tracking, TrackEval's rules:")
	t := rep.Tracking
	printStandard(out, "  raw truth, online", t.RawOnline)
	printStandard(out, "  raw truth, offline", t.RawOffline)
	printStandard(out, "  visible-only, online", t.VisibleOnline)
	printStandard(out, "  visible-only, offline", t.VisibleOffline)
	fmt.Fprintln(out, "reference: ByteTrack given the camera's motion, same detections, online:")
	printStandard(out, "  raw truth", rep.ByteTrack.RawOnline)
	printStandard(out, "  visible-only", rep.ByteTrack.VisibleOnline)
}
