package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/drift"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/shadow"
)

func newModelCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "model", Short: "Deploy models to running detect stages, roll back, see what is served"}
	var (
		name, version, share string
		cameras              []string
		asShadow             bool
	)
	deploy := &cobra.Command{
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
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			fr, err := detect.ParseShare(share)
			if err != nil {
				return fmt.Errorf("--share %w", err)
			}
			if fr > 0 && len(cameras) > 0 {
				return fmt.Errorf("--cameras and --share: give one of them")
			}
			id, err := inference.Identify(path, name, version)
			if err != nil {
				return err
			}
			d := detect.NewDeployment(path, id, detect.Placement{Cameras: cameras, Share: fr, Shadow: asShadow})
			return g.withConn(cmd.Context(), func(conn *broker.Conn) error {
				if err := detect.Deploy(cmd.Context(), conn, d); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deployed %s as %s (%s)\n", d.ModelId, d.Role, path)
				return nil
			})
		},
	}
	deploy.Flags().StringVar(&name, "name", "", "model name (default the file's base name)")
	deploy.Flags().StringVar(&version, "version", "", "model version (default the file's model_version metadata, else "+inference.UnversionedModel+")")
	deploy.Flags().StringSliceVar(&cameras, "cameras", nil, "canary: serve the model on these cameras only")
	deploy.Flags().StringVar(&share, "share", "", "canary: serve the model on this share of frames (10% or 0.1)")
	deploy.Flags().BoolVar(&asShadow, "shadow", false, "run the model beside the serving one on --cameras or --share (default every frame); its boxes go to topic shadow-detections only (cropstream model compare)")

	rollback := &cobra.Command{
		Use:   "rollback",
		Short: "End the canary, or when there is none, serve the model deployed before the current one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withConn(cmd.Context(), func(conn *broker.Conn) error {
				d, err := detect.Rollback(cmd.Context(), conn)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "rolled back; serving %s\n", d.GetModelId())
				return nil
			})
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Print the deployments in force (serving, canary) as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withConn(cmd.Context(), func(conn *broker.Conn) error {
				ds, err := detect.Deployments(cmd.Context(), conn)
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), ds)
			})
		},
	}
	var stopShadow bool
	stop := &cobra.Command{
		Use:   "stop (--canary | --shadow)",
		Short: "End the canary or the shadow",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			role := detect.RoleCanary
			if stopShadow {
				role = detect.RoleShadow
			}
			return g.withConn(cmd.Context(), func(conn *broker.Conn) error {
				if err := detect.Stop(cmd.Context(), conn, role); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "stopped the %s\n", role)
				return nil
			})
		},
	}
	stop.Flags().Bool("canary", true, "end the canary (the default)")
	stop.Flags().BoolVar(&stopShadow, "shadow", false, "end the shadow")
	var (
		iou    float64
		asJSON bool
	)
	compare := &cobra.Command{
		Use:   "compare",
		Short: "Compare the shadow model's detections with the serving model's on the same frames",
		Long: `compare reads topics detections and shadow-detections, pairs records by
camera and frame, and reports per camera: frames, boxes of each model, boxes
matched one to one (same class, IoU at least --iou), the shadow's precision and
recall against the serving model, and each model's time per frame.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withConn(cmd.Context(), func(conn *broker.Conn) error {
				rep, err := shadow.CompareTopics(cmd.Context(), conn, iou)
				if err != nil {
					return err
				}
				return printReport(cmd.OutOrStdout(), asJSON, rep, rep.Print)
			})
		},
	}
	compare.Flags().Float64Var(&iou, "iou", 0.5, "IoU at which two boxes are the same object")
	compare.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.AddCommand(deploy, rollback, status, stop, compare, newModelReferenceCmd())
	return cmd
}

// newModelReferenceCmd records the drift reference of a model: the
// distributions the detect stage's drift monitor compares cameras with.
func newModelReferenceCmd() *cobra.Command {
	var (
		mf              modelFlags
		scenario, video string
		out             string
		limit           int
	)
	cmd := &cobra.Command{
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if (scenario == "") == (video == "") {
				return fmt.Errorf("give one of --scenario and --video")
			}
			src, err := ingest.Open(ctx, ingest.SourceConfig{Scenario: scenario, Video: video}, &ingest.Config{}, cmd.Flags().Changed)
			if err != nil {
				return err
			}
			defer src.Close()
			frames, err := ingest.ReadFrames(ctx, src, limit, "reference")
			if err != nil {
				return err
			}
			eng, err := mf.newEngine(0.1, nil)
			if err != nil {
				return err
			}
			defer eng.Close()
			ref, err := detect.Calibrate(eng, frames)
			if err != nil {
				return err
			}
			if out == "" {
				out = drift.SidecarPath(mf.model)
			}
			if err := ref.Save(out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "reference of %s from %d frames (%d score samples) written to %s\n",
				eng.ID(), ref.Frames, len(ref.Samples[drift.Score]), out)
			return nil
		},
	}
	mf.register(cmd.Flags())
	cmd.Flags().StringVar(&scenario, "scenario", "", "simulated footage: a builtin scenario name or a YAML file")
	cmd.Flags().StringVar(&video, "video", "", "a video file")
	cmd.Flags().StringVar(&out, "out", "", "where to write the reference (default beside the model: MODEL.drift.json)")
	cmd.Flags().IntVar(&limit, "frames", 3000, "at most this many frames")
	return cmd
}
