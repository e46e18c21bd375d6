package evaluation

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/simulator"
)

// DetectOptions configure ScoreDetector.
type DetectOptions struct {
	// Conf is the score of the operating point for precision and recall;
	// 0: OperatingScore's.
	Conf float32
	// RequiredVisibility: units at least this visible must be found; less
	// visible ones are ignored.
	RequiredVisibility float64
	// MaxFrames stops after this many frames (0: the whole scenario).
	MaxFrames int
	// Batch is the inference batch size.
	Batch int
}

// DetectReport is what `eval detect` reports.
type DetectReport struct {
	Result
	Scenario           string   `json:"scenario"`
	Seed               uint64   `json:"seed"`
	Model              string   `json:"model"`
	Classes            []string `json:"classes"`
	RequiredVisibility float64  `json:"required_visibility"`
	Conf               float32  `json:"conf"`
	InferMsPerFrame    float64  `json:"infer_ms_per_frame"`
}

// DefaultConf is the operating score of a model that does not name its own:
// Ultralytics' default.
const DefaultConf = 0.25

// OperatingScore is conf when set, else the model's conf metadata (chosen on
// its validation data), else DefaultConf.
func OperatingScore(conf float32, info inference.ModelInfo) float32 {
	switch {
	case conf > 0:
		return conf
	case info.Conf > 0:
		return info.Conf
	}
	return DefaultConf
}

// ScoreDetector renders sc, passes each frame through JPEG as the pipeline
// does (the detector sees its artefacts), detects in batches and matches
// the boxes to the truth at IoU 0.5.
func ScoreDetector(eng *inference.Engine, sc *simulator.Scenario, opts DetectOptions) (*DetectReport, error) {
	info := eng.Info()
	pre := inference.NewPreprocessor(info.Width, info.Height)
	defer pre.Close()
	opts.Conf = OperatingScore(opts.Conf, info)
	ev := NewDetectionEval(0.5, opts.Conf)
	sim := simulator.New(sc)
	defer sim.Close()
	input := inference.NewBatch(info, opts.Batch)
	type pending struct {
		lb  inference.Letterbox
		gts []GT
	}
	var queue []pending
	var inferTime time.Duration
	flush := func() error {
		if len(queue) == 0 {
			return nil
		}
		start := time.Now()
		res, err := input.Run(eng, len(queue))
		if err != nil {
			return fmt.Errorf("eval detect: %w", err)
		}
		inferTime += time.Since(start)
		for i, p := range queue {
			dets := make([]inference.Detection, len(res[i]))
			for k, d := range res[i] {
				dets[k] = p.lb.ToFrame(d)
			}
			ev.Add(dets, p.gts)
		}
		queue = queue[:0]
		return nil
	}
	W, H := sc.Camera.Width, sc.Camera.Height
	for n := 0; opts.MaxFrames == 0 || n < opts.MaxFrames; n++ {
		f, err := sim.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		jpg, err := f.JPEG(90)
		if err != nil {
			return nil, fmt.Errorf("eval detect: %w", err)
		}
		lb, err := pre.Decode(jpg, W, H, input, len(queue))
		if err != nil {
			return nil, fmt.Errorf("eval detect: decode frame %d: %w", f.Sequence, err)
		}
		var gts []GT
		for _, b := range f.Boxes {
			r := b.Clipped(W, H)
			d := inference.Detection{X1: float32(r.Min.X), Y1: float32(r.Min.Y), X2: float32(r.Max.X), Y2: float32(r.Max.Y), Class: b.ClassID}
			gts = append(gts, GT{Box: d, Ignore: b.Visibility < opts.RequiredVisibility})
		}
		queue = append(queue, pending{lb: lb, gts: gts})
		if len(queue) == opts.Batch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	r := &DetectReport{Result: ev.Result(), Scenario: sc.Name, Seed: sc.Seed, Model: eng.Name(), Classes: info.Names,
		RequiredVisibility: opts.RequiredVisibility, Conf: opts.Conf}
	if r.Frames > 0 {
		r.InferMsPerFrame = float64(inferTime.Milliseconds()) / float64(r.Frames)
	}
	return r, nil
}

// Print writes the report as `eval detect` prints it without --json.
func (r *DetectReport) Print(out io.Writer) {
	fmt.Fprintf(out, "scenario %s (seed %d), model %s, %d frames, %d truth boxes\n", r.Scenario, r.Seed, r.Model, r.Frames, r.Truth)
	fmt.Fprintf(out, "precision %.3f  recall %.3f  (conf %.2f)  mAP@0.5 %.3f  inference %.1f ms/frame\n", r.Precision, r.Recall, r.Conf, r.MAP50, r.InferMsPerFrame)
	for c, cr := range r.PerClass {
		if cr.Truth > 0 {
			fmt.Fprintf(out, "  %-14s AP50 %.3f  precision %.3f  recall %.3f  (%d boxes)\n", r.Classes[c], cr.AP, cr.Precision, cr.Recall, cr.Truth)
		}
	}
}
