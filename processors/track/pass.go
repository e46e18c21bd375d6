package track

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/fieldmap"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// pass is a camera's current pass along a row, as the aggregate stage is told
// of it: a pass-start control when the camera begins a row, a pass-end when
// the row changes, the stream ends, or the camera falls silent for the idle
// gap. A block's window closes when every row's pass has ended.
type pass struct {
	Field, Block, Row string
	Open              bool
	// ArrivedNs is when this stage applied the camera's latest frame (its own
	// clock): a feed that stops sends nothing whose capture time could say so.
	ArrivedNs int64
	// The model's class names and count scores, from the latest frame, to
	// decide the open tracks when the pass ends without a frame.
	ClassNames  []string
	CountScores []float32
}

// Close ends every open track as the end of a stream does, and returns those
// that count; the frame sequence is left as it is.
func (s *State) Close(p Params) []*Track {
	p = p.withDefaults()
	counted := s.end(p)
	s.LastDets, s.LastPos = nil, nil
	return counted
}

// outputs collects a callback's records in order, grouped by key, so they are
// emitted and kept in the replay log together.
type outputs []emitted

func (o *outputs) add(block string, val []byte) {
	if n := len(*o); n > 0 && (*o)[n-1].Block == block {
		(*o)[n-1].Objects = append((*o)[n-1].Objects, val)
		return
	}
	*o = append(*o, emitted{Block: block, Objects: [][]byte{val}})
}

// emit sends the records and logs them under seq for a replay.
func (p *Processor) emit(ctx goka.Context, st *cameraState, seq uint64, out outputs) {
	for _, e := range out {
		for _, v := range e.Objects {
			ctx.Emit(goka.Stream(topology.Objects), e.Block, v)
		}
		e.Seq = seq
		st.Emitted = st.Emitted.add(e)
	}
}

// control encodes a pass control for the aggregate stage.
func control(kind, reason, camera string, ps pass, d *schema.Detections) *schema.CountedObject {
	return &schema.CountedObject{Control: kind, Reason: reason, CameraId: camera, FieldId: ps.Field, BlockId: ps.Block,
		RowId: ps.Row, FirstSequence: d.GetSequence(), LastSequence: d.GetSequence(), LastSeenUnixNs: d.GetCaptureUnixNs(), Model: d.GetModel()}
}

// passOf is the pass a frame belongs to.
func passOf(d *schema.Detections) pass {
	return pass{Field: d.GetFieldId(), Block: d.GetBlockId(), Row: d.GetRowId()}
}

// objects adds the counted tracks of pass ps, with their plant from the field
// map, keeping only the classes the block's crop profile counts.
func (p *Processor) objects(ctx goka.Context, out *outputs, d *schema.Detections, ps pass, counted []*Track) error {
	if len(counted) == 0 {
		return nil
	}
	fb := p.fieldBlock(ctx, ps.Block)
	prof, err := p.profile(fb)
	if err != nil {
		return err
	}
	var row *schema.FieldRow
	if fb != nil {
		row = fieldmap.RowOf(fb, ps.Row)
	}
	for _, t := range counted {
		o := object(d, t)
		o.FieldId, o.BlockId, o.RowId = ps.Field, ps.Block, ps.Row
		if o.ClassName != prof.Class {
			p.Stats.OtherClasses.Add(1)
			continue
		}
		if i, ok := fieldmap.PlantIndex(row, t.PositionM); ok {
			o.PlantId = fieldmap.PlantID(ps.Row, i)
		}
		val, err := schema.Encode(o)
		if err != nil {
			return err
		}
		out.add(ps.Block, val)
		p.Stats.Objects.Add(1)
	}
	return nil
}

func (p *Processor) passControl(out *outputs, kind, reason string, camera string, ps pass, d *schema.Detections) error {
	val, err := schema.Encode(control(kind, reason, camera, ps, d))
	if err != nil {
		return err
	}
	out.add(ps.Block, val)
	return nil
}

// fieldBlock is the block's field map entry; nil when it has none.
func (p *Processor) fieldBlock(_ goka.Context, block string) *schema.FieldBlock {
	return p.fields.Get(block)
}

// profile is the block's crop profile, or the stage's default.
func (p *Processor) profile(fb *schema.FieldBlock) (*crops.Profile, error) {
	if fb == nil {
		return p.cfg.Default, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if prof, ok := p.profiles[fb.GetCrop()]; ok {
		return prof, nil
	}
	prof, err := crops.Load(fb.GetCrop())
	if err != nil {
		return nil, fmt.Errorf("block %s: %w", fb.GetBlockId(), err)
	}
	p.profiles[fb.GetCrop()] = prof
	return prof, nil
}

// idleWatch is who notices a camera gone silent: goka acts only on records,
// so every tick it sends each camera whose pass has been open without a frame
// for IdleGap an idle record through the detections topic, on which the
// callback ends the pass (unless a frame came in between).
type idleWatch struct {
	mu   sync.Mutex
	open map[string]int64 // camera -> when its latest frame was applied
}

func (w *idleWatch) seen(camera string, at int64, open bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if open {
		w.open[camera] = at
	} else {
		delete(w.open, camera)
	}
}

func (w *idleWatch) stale(now int64, gap time.Duration) map[string]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int64{}
	for c, at := range w.open {
		if now-at >= gap.Nanoseconds() {
			out[c] = at
			delete(w.open, c)
		}
	}
	return out
}

func (p *Processor) watchIdle(ctx context.Context) error {
	cl, err := p.conn.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	tick := time.NewTicker(max(p.cfg.IdleGap/4, 100*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		now := time.Now().UnixNano()
		for camera, at := range p.idle.stale(now, p.cfg.IdleGap) {
			val, err := schema.Encode(&schema.Detections{FrameId: fmt.Sprintf("idle-%s-%d", camera, now), CameraId: camera,
				EndOfStream: true, IdleGap: true, CaptureUnixNs: at})
			if err != nil {
				return err
			}
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: string(idleTopic), Key: []byte(camera), Value: val}).FirstErr(); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				// The broker is away: try again next tick rather than stop the stage.
				slog.Warn("track: idle record not sent", "camera", camera, "err", err)
				p.idle.seen(camera, at, true)
			}
		}
	}
}

// Lookups are the compacted topics the stage reads whole, beside its goka
// graph: the field map (fieldmap.Table).
func (p *Processor) Lookups() []topology.Topic { return []topology.Topic{topology.Fields} }
