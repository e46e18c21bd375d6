package main

import (
	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/fieldrun"
)

func newEvalCmd(g *globals) *cobra.Command {
	var (
		o      fieldrun.Options
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Score the whole pipeline (or, with `eval detect`, the detector) against the simulator's truth",
		Long: `Run the whole pipeline on a simulated field and score it against the truth:
simulator -> ingest -> embedded Kafka -> detect -> track -> aggregate.

Reports per row and for the block: units visible from the camera (the truth
for counting), units counted, count error, true yield, estimated yield with
its 95 % interval, yield error; and tracking metrics against the simulator's
MOT ground truth: the project's own MOTA/IDF1 (visible units only, trajectories
back-filled from before confirmation) and TrackEval's HOTA, MOTA, IDF1, ID
switches and fragmentations on every truth box and visible-only, online and
offline (see cropstream eval mot). Yield is calibrated on hand counts: a CSV
(--hand-counts plant_id,count[,mean_mass_g]) or, by default, --samples plants
counted and weighed from the truth, as a grower would.

Runs on a fresh embedded broker in a temporary directory unless --brokers is
given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Fresh = g.kafka.Embedded()
			rep, err := o.Run(cmd.Context(), g.kafka, g.topo)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return printJSON(out, rep)
			}
			fieldrun.PrintReport(out, rep)
			fieldrun.PrintTracking(out, rep)
			return nil
		},
	}
	o.RegisterFlags(cmd.Flags(), "default")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&o.MOTDir, "mot-dir", "", "also write det.txt, tracks.txt, tracks-online.txt, bytetrack.txt and gt.txt (MOTChallenge) here")
	cmd.Flags().StringVar(&o.ReplayFile, "replay-file", "", "also save the run's detections and truth here (JSON), for 'eval replay'")
	cmd.AddCommand(newEvalDetectCmd(), newEvalCalibrateCmd(g), newEvalMOTCmd(), newEvalCoverageCmd(), newEvalReplayCmd())
	return cmd
}
