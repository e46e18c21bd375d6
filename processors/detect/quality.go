package detect

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/drift"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// observe feeds a frame of the serving model to the drift monitor and
// returns a model-quality record when the camera's report is due. Canary
// frames are left out: the reference is the serving model's, and a canary's
// scores compared with it would read as drift.
func (p *Processor) observe(d *schema.Detections, s *slot) *kgo.Record {
	if p.cfg.Drift == nil {
		return nil
	}
	if s != p.serving {
		p.cfg.Drift.Seen(d.CameraId)
		return nil
	}
	sum, ok := p.cfg.Drift.Observe(d.CameraId, d.CaptureUnixNs, features(d))
	if !ok {
		return nil
	}
	q := &schema.ModelQuality{CameraId: d.CameraId, ModelId: s.id, WindowStartUnixNs: sum.StartNs, WindowEndUnixNs: sum.EndNs,
		Frames: uint32(sum.Frames), Boxes: uint64(sum.Boxes), MeanScore: sum.MeanScore, MeanBrightness: sum.MeanBrightness,
		MeanContrast: sum.MeanContrast, EmittedUnixNs: time.Now().UnixNano()}
	for _, st := range sum.Drift {
		q.Drift = append(q.Drift, &schema.DriftStat{Feature: st.Feature, Ks: st.KS, Psi: st.PSI})
	}
	val, err := schema.Encode(q)
	if err != nil {
		slog.Warn("model-quality record", "camera", d.CameraId, "err", err)
		return nil
	}
	p.Stats.Reports.Add(1)
	return &kgo.Record{Topic: string(topology.ModelQuality), Key: []byte(d.CameraId), Value: val}
}

// features are what a frame's detections give the drift monitor; the
// reference (Calibrate) is made of the same.
func features(d *schema.Detections) drift.Frame {
	f := drift.Frame{Brightness: float64(d.Brightness), Contrast: float64(d.Contrast)}
	for _, b := range d.Detections {
		f.Scores = append(f.Scores, float64(b.Score))
		if d.Width > 0 {
			bx := b.GetBox()
			f.BoxSizes = append(f.BoxSizes, math.Sqrt(float64(max(bx.X2-bx.X1, 0)*max(bx.Y2-bx.Y1, 0)))/float64(d.Width))
		}
	}
	return f
}

// Calibrate runs det over frames as the stage would (same decoding, same
// batches, same features) and returns the drift reference they make: run
// it on the footage the model was validated on, and store the result with
// the model (drift.SidecarPath). Frames that do not decode are skipped.
func Calibrate(det Detector, frames []*schema.Frame) (*drift.Reference, error) {
	p := &Processor{cfg: Config{Detector: det}.withDefaults()}
	p.cfg.Lanes = 1
	s := p.newSlot(det, nil, nil)
	defer s.close()
	rec := drift.NewRecorder(0)
	for start := 0; start < len(frames); start += p.cfg.MaxBatch {
		var jobs []*job
		for _, f := range frames[start:min(start+p.cfg.MaxBatch, len(frames))] {
			w, h, err := checkHeader(f, p.cfg.MaxPixels)
			if err != nil {
				continue
			}
			jobs = append(jobs, &job{frame: f, w: w, h: h, model: s})
		}
		if err := p.infer(s, jobs); err != nil {
			return nil, fmt.Errorf("detect: calibrate: %w", err)
		}
		for _, j := range jobs {
			if j.err != nil {
				continue
			}
			d := detections(j, j.boxes, det.Name(), det.Info(), 0)
			d.Brightness, d.Contrast = j.bright, j.contrast
			rec.Add(features(d))
		}
	}
	ref := rec.Reference()
	if d, ok := det.(interface{ ID() inference.ModelID }); ok {
		ref.ModelSHA256 = d.ID().SHA256
	}
	return ref, nil
}

// Drift is the stage's drift monitor (nil when it has none).
func (p *Processor) Drift() *drift.Monitor { return p.cfg.Drift }
