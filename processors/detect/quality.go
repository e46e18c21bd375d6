package detect

import (
	"log/slog"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/drift"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// observe feeds a frame of the serving model to the drift monitor and
// returns a model-quality record when the camera's report is due. Canary
// frames are left out: the reference is the serving model's, and a canary's
// scores compared with it would read as drift.
func (p *Processor) observe(d *schema.Detections, s *slot) *kgo.Record {
	if p.cfg.Drift == nil || s != p.serving {
		return nil
	}
	f := drift.Frame{Brightness: float64(d.Brightness), Contrast: float64(d.Contrast)}
	for _, b := range d.Detections {
		f.Scores = append(f.Scores, float64(b.Score))
		if d.Width > 0 {
			bx := b.GetBox()
			f.BoxSizes = append(f.BoxSizes, math.Sqrt(float64(max(bx.X2-bx.X1, 0)*max(bx.Y2-bx.Y1, 0)))/float64(d.Width))
		}
	}
	sum, ok := p.cfg.Drift.Observe(d.CameraId, d.CaptureUnixNs, f)
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
