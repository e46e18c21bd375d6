package detect

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// runShadow runs the shadow model, if any, on its share of the frames that
// decoded, after the serving and canary models: each frame is decoded again
// into the shadow's own lanes (its input may differ), which costs the
// shadow's share of decoding and nothing on frames it does not take.
func (p *Processor) runShadow(jobs []*job) ([]*job, error) {
	s := p.shadow
	if s == nil {
		return nil, nil
	}
	var mine []*job
	for _, j := range jobs {
		if j.err == nil && inScope(s.dep, j.frame) {
			mine = append(mine, &job{frame: j.frame, w: j.w, h: j.h, model: s})
		}
	}
	if err := p.infer(s, mine); err != nil {
		return nil, err
	}
	return mine, nil
}

// shadowRecords are the shadow's detections, to their own topic: the
// tracker never reads them, so a candidate model counts nothing.
func (p *Processor) shadowRecords(jobs []*job, now int64) []*kgo.Record {
	var out []*kgo.Record
	for _, j := range jobs {
		if j.err != nil {
			continue
		}
		d := detections(j, j.boxes, j.model.det.Name(), j.model.det.Info(), now)
		d.ModelId, d.Shadow = j.model.id, true
		d.Brightness, d.Contrast, d.InferNs = j.bright, j.contrast, j.inferNs
		val, err := schema.Encode(d)
		if err != nil {
			continue // the serving record of the frame stands; a shadow's loss is only a smaller sample
		}
		out = append(out, &kgo.Record{Topic: string(topology.ShadowDetections), Key: []byte(j.frame.CameraId), Value: val})
	}
	return out
}
