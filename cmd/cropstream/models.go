package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/drift"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/shadow"
	"github.com/cropstream/cropstream/simulator"
	"github.com/cropstream/cropstream/topology"
)

// loader loads deployed models for the detect stage with the same flags as
// its --model: on the CPU the model is first run in a child process (the
// probe the CUDA path uses), so a file that crashes ONNX Runtime kills the
// child, not the stage; on CUDA gpuEngine probes each graph variant itself.
func (m *modelFlags) loader(scoreThreshold float32) detect.Loader {
	return func(ctx context.Context, d *schema.ModelDeployment) (detect.Detector, error) {
		g := *m
		g.model, g.name, g.version, g.sha256 = d.Path, d.Name, d.Version, d.Sha256
		if g.provider != "cuda" {
			if err := g.probe("none"); err != nil {
				return nil, fmt.Errorf("probe in a child process: %w", err)
			}
		}
		return g.stageEngine(scoreThreshold)
	}
}

// driftMonitor watches the detect stage's cameras against the reference
// stored beside the model (drift.SidecarPath); without one it still
// summarises quality, without drift statistics.
func (m *modelFlags) driftMonitor(window int, id inference.ModelID) (*drift.Monitor, error) {
	path, err := inference.FindModel(m.model)
	if err != nil {
		return nil, err
	}
	ref, err := drift.Load(drift.SidecarPath(path))
	if err != nil {
		return nil, err
	}
	if !ref.Matches(id.SHA256) {
		slog.Warn("drift reference recorded with another model file; serving without drift statistics", "model", id, "reference", drift.SidecarPath(path))
		ref = nil
	}
	return drift.NewMonitor(drift.Config{Window: window}, ref), nil
}

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
			fr, err := parseShare(share)
			if err != nil {
				return err
			}
			if fr > 0 && len(cameras) > 0 {
				return fmt.Errorf("--cameras and --share: give one of them")
			}
			id, err := inference.Identify(path, name, version)
			if err != nil {
				return err
			}
			d := &schema.ModelDeployment{ModelId: id.String(), Name: id.Name, Version: id.Version, Sha256: id.SHA256,
				Path: path, Role: detect.RoleServing}
			switch {
			case asShadow:
				if fr == 0 && len(cameras) == 0 {
					fr = 1
				}
				d.Role, d.Cameras, d.Share = detect.RoleShadow, cameras, fr
			case fr > 0 || len(cameras) > 0:
				d.Role, d.Cameras, d.Share = detect.RoleCanary, cameras, fr
			}
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
				rep, err := shadowReport(cmd.Context(), conn, iou)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), rep)
				}
				printShadow(cmd.OutOrStdout(), rep)
				return nil
			})
		},
	}
	compare.Flags().Float64Var(&iou, "iou", 0.5, "IoU at which two boxes are the same object")
	compare.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.AddCommand(deploy, rollback, status, stop, compare, newModelReferenceCmd())
	return cmd
}

// parseShare reads "10%" or "0.1" as a share in (0, 1]; "" is 0.
func parseShare(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if pct {
		v /= 100
	}
	if err != nil || v <= 0 || v > 1 {
		return 0, fmt.Errorf("--share %q: want a share in (0, 1] such as 10%% or 0.1", s)
	}
	return v, nil
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
			var src ingest.Source
			switch {
			case (scenario == "") == (video == ""):
				return fmt.Errorf("give one of --scenario and --video")
			case scenario != "":
				sc, err := simulator.Load(scenario)
				if err != nil {
					return err
				}
				src = ingest.OpenScenario(sc)
			default:
				v, err := ingest.OpenVideo(ctx, video)
				if err != nil {
					return err
				}
				src = v
			}
			defer src.Close()
			frames, err := jpegFrames(ctx, src, limit)
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

// jpegFrames reads up to limit frames of src as the JPEG frames ingest
// would produce.
func jpegFrames(ctx context.Context, src ingest.Source, limit int) ([]*schema.Frame, error) {
	var out []*schema.Frame
	for len(out) < limit {
		c, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		jpg := c.JPEG
		if jpg == nil {
			buf, err := gocv.IMEncode(gocv.JPEGFileExt, *c.Image)
			if err != nil {
				return nil, fmt.Errorf("encode frame %d: %w", len(out), err)
			}
			jpg = append([]byte(nil), buf.GetBytes()...)
			buf.Close()
		}
		out = append(out, &schema.Frame{FrameId: strconv.Itoa(len(out)), CameraId: "reference", Width: uint32(c.Width), Height: uint32(c.Height),
			Encoding: schema.Encoding_ENCODING_JPEG, Image: jpg})
	}
	if len(out) == 0 {
		return nil, errors.New("the footage has no frames")
	}
	return out, nil
}

// shadowReport reads both detections topics and compares them.
func shadowReport(ctx context.Context, conn *broker.Conn, iou float64) (shadow.Report, error) {
	read := func(t topology.Topic) ([]*schema.Detections, error) {
		recs, err := broker.ReadAll(ctx, conn, t, time.Second)
		if err != nil {
			return nil, err
		}
		out := make([]*schema.Detections, 0, len(recs))
		for _, r := range recs {
			if d, err := schema.DecodeDetections(r.Value); err == nil {
				out = append(out, d)
			}
		}
		return out, nil
	}
	sv, err := read(topology.Detections)
	if err != nil {
		return shadow.Report{}, err
	}
	sh, err := read(topology.ShadowDetections)
	if err != nil {
		return shadow.Report{}, err
	}
	if len(sh) == 0 {
		return shadow.Report{}, errors.New("no shadow detections: deploy a shadow first (cropstream model deploy FILE --shadow)")
	}
	return shadow.Compare(sv, sh, iou), nil
}

func printShadow(w io.Writer, r shadow.Report) {
	fmt.Fprintf(w, "serving %s, shadow %s, IoU >= %.2f\n", strings.Join(r.ServingModels, " "), strings.Join(r.ShadowModels, " "), r.IoU)
	fmt.Fprintf(w, "%-16s %7s %9s %9s %8s %9s %7s %10s %10s\n", "camera", "frames", "serving", "shadow", "matched", "precision", "recall", "serving ms", "shadow ms")
	cams := make([]string, 0, len(r.Cameras))
	for c := range r.Cameras {
		cams = append(cams, c)
	}
	slices.Sort(cams)
	line := func(name string, s *shadow.Stats) {
		fmt.Fprintf(w, "%-16s %7d %9d %9d %8d %9.3f %7.3f %10.1f %10.1f\n", name, s.Frames, s.ServingBoxes, s.ShadowBoxes, s.Matched, s.Precision, s.Recall, s.ServingMs, s.ShadowMs)
	}
	for _, c := range cams {
		line(c, r.Cameras[c])
	}
	line("all", &r.Total)
	if r.Total.Tracked {
		fmt.Fprintf(w, "objects the tracker counts (cameras whose every frame the shadow saw): serving %d, shadow %d\n", r.Total.ServingObjects, r.Total.ShadowObjects)
		for _, c := range cams {
			if s := r.Cameras[c]; s.Tracked {
				fmt.Fprintf(w, "  %-16s serving %d, shadow %d\n", c, s.ServingObjects, s.ShadowObjects)
			}
		}
	}
	if r.Unmatched > 0 {
		fmt.Fprintf(w, "%d shadow frames without a serving record (not detected yet, or expired)\n", r.Unmatched)
	}
}
