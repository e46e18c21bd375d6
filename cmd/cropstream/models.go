package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/shadow"
)

func newModelCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "model", Short: "Deploy models to running detect stages, roll back, see what is served"}
	var (
		req detect.Request
		d   *schema.ModelDeployment
	)
	deploy := g.connCmd(&cobra.Command{
		Use:   "deploy FILE",
		Short: "Serve FILE in every detect process (or on a canary: --cameras, --share) without a restart",
		Long: `deploy publishes the model's id (name@version+sha256) and its absolute path to
the models topic. Each detect process loads the file from that path, runs it
once in a child process, checks its hash, and switches to it between two
batches; one that fails is refused (a dead letter of stage detect-model, the
counter cropstream_detect_model_refusals_total) and the model in service
stays. The path must be readable by every detect process.

Without --cameras or --share the model serves every frame and any canary
ends. With them it serves only those cameras' frames, or that share of
frames chosen by a hash of the frame id, beside the serving model.`,
		Example: `  cropstream model deploy models/cropnet-2026.onnx --version 2026.2
  cropstream model deploy candidate.onnx --share 10%
  cropstream model deploy candidate.onnx --cameras cam-3,cam-7`,
		Args:    cobra.ExactArgs(1),
		PreRunE: check(func(args []string) (err error) { d, err = req.Deployment(args[0]); return err }),
	}, func(cmd *cobra.Command, conn *broker.Conn, _ []string) (out, error) {
		return say("deployed %s as %s (%s)", d.ModelId, d.Role, d.Path), detect.Deploy(cmd.Context(), conn, d)
	})
	req.RegisterFlags(deploy.Flags())
	rollback := g.connCmd(&cobra.Command{
		Use:   "rollback",
		Short: "End the canary, or when there is none, serve the model deployed before the current one",
		Args:  cobra.NoArgs,
	}, func(cmd *cobra.Command, conn *broker.Conn, _ []string) (out, error) {
		d, err := detect.Rollback(cmd.Context(), conn)
		return say("rolled back; serving %s", d.GetModelId()), err
	})
	status := g.connCmd(&cobra.Command{Use: "status", Short: "Print the deployments in force (serving, canary) as JSON", Args: cobra.NoArgs},
		func(cmd *cobra.Command, conn *broker.Conn, _ []string) (out, error) {
			ds, err := detect.Deployments(cmd.Context(), conn)
			return jsonOut(ds), err
		})
	var stopShadow bool
	stop := g.connCmd(&cobra.Command{Use: "stop (--canary | --shadow)", Short: "End the canary or the shadow", Args: cobra.NoArgs},
		func(cmd *cobra.Command, conn *broker.Conn, _ []string) (out, error) {
			role := detect.RoleCanary
			if stopShadow {
				role = detect.RoleShadow
			}
			return say("stopped the %s", role), detect.Stop(cmd.Context(), conn, role)
		})
	stop.Flags().Bool("canary", true, "end the canary (the default)")
	stop.Flags().BoolVar(&stopShadow, "shadow", false, "end the shadow")
	var iou float64
	compare := g.connCmd(jsonFlag(&cobra.Command{
		Use:   "compare",
		Short: "Compare the shadow model's detections with the serving model's on the same frames",
		Long: `compare reads topics detections and shadow-detections, pairs records by
camera and frame, and reports per camera: frames, boxes of each model, boxes
matched one to one (same class, IoU at least --iou), the shadow's precision and
recall against the serving model, and each model's time per frame.`,
		Args: cobra.NoArgs,
	}, "print the report as JSON"), func(cmd *cobra.Command, conn *broker.Conn, _ []string) (out, error) {
		rep, err := shadow.CompareTopics(cmd.Context(), conn, iou)
		return report(rep, rep.Print), err
	})
	compare.Flags().Float64Var(&iou, "iou", 0.5, "IoU at which two boxes are the same object")
	cmd.AddCommand(deploy, rollback, status, stop, compare, newModelReferenceCmd())
	return cmd
}

// newModelReferenceCmd records the drift reference of a model: the
// distributions the detect stage's drift monitor compares cameras with.
func newModelReferenceCmd() *cobra.Command {
	var (
		mf    detect.ModelConfig
		src   ingest.SourceConfig
		dest  string
		limit int
	)
	cmd := runCmd(&cobra.Command{
		Use:   "reference --model M (--scenario S | --video V)",
		Short: "Record the model's drift reference (scores, boxes, sizes, brightness, contrast) on footage it was validated on",
		Long: `reference runs the model over the footage as the detect stage would and
stores the distributions of detection scores, boxes per frame, box sizes and
image brightness and contrast beside the model (MODEL.drift.json, or --out).
Detect processes serving the model compare each camera's recent frames with
it (cropstream_drift_ks, cropstream_drift_psi, table model_quality). Run it
on the footage the model was calibrated on: a scenario, or a real video.`,
		Example: `  cropstream model reference --model models/cropnet.onnx --scenario default`,
		Args:    cobra.NoArgs,
	}, func(cmd *cobra.Command, _ []string) (out, error) {
		if (src.Scenario == "") == (src.Video == "") {
			return out{}, fmt.Errorf("give one of --scenario and --video")
		}
		frames, err := ingest.ReadFrames(cmd.Context(), src, limit, "reference")
		if err != nil {
			return out{}, err
		}
		rec, err := mf.RecordReference(frames, dest)
		return report(nil, rec.Print), err
	})
	mf.RegisterFlags(cmd.Flags())
	cmd.Flags().StringVar(&src.Scenario, "scenario", "", "simulated footage: a builtin scenario name or a YAML file")
	cmd.Flags().StringVar(&src.Video, "video", "", "a video file")
	cmd.Flags().StringVar(&dest, "out", "", "where to write the reference (default beside the model: MODEL.drift.json)")
	cmd.Flags().IntVar(&limit, "frames", 3000, "at most this many frames")
	return cmd
}
