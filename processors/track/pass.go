package track

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/fieldmap"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// pass is whether a camera's pass along its location's row is running, as
// the aggregate stage is told of it: a pass-start control when the camera
// begins a row, a pass-end when the row changes, the stream ends or is
// superseded, or the camera falls silent for the idle gap. A block's window
// closes when every row's pass has ended.
type pass struct {
	Open bool
	// ArrivedNs is when this stage applied the camera's latest frame (its own
	// clock): a feed that stops sends nothing whose capture time could say so.
	ArrivedNs int64
	// The model's class names and count scores, from the latest frame, to
	// decide the open tracks when the pass ends without a frame.
	ClassNames  []string
	CountScores []float32
}

// classNames are the pass's class names, else the frame's.
func (ps pass) classNames(d *schema.Detections) []string {
	if len(ps.ClassNames) > 0 {
		return ps.ClassNames
	}
	return d.ClassNames
}

// outputs collects what one detections record makes the stage send, in
// order, numbered: with the record's partition and offset the number names
// each record's place, by which the aggregate stage drops replays. flush
// emits them and keeps them in the replay log.
type outputs struct {
	p       *Processor
	ctx     goka.Context
	raw     []byte
	index   uint32
	pending []emitted // grouped by block, in order
	// crossings are the line crossings added (lines.go).
	crossings [][]byte
}

func (o *outputs) add(block string, m *schema.CountedObject) {
	m.SourcePartition, m.SourceOffset, m.SourceIndex = o.ctx.Partition(), proto.Int64(o.ctx.Offset()), o.index
	o.index++
	val, err := schema.Encode(m)
	if err != nil {
		o.p.deadLetter(o.ctx, o.raw, err)
		return
	}
	if n := len(o.pending); n > 0 && o.pending[n-1].Block == block {
		o.pending[n-1].Objects = append(o.pending[n-1].Objects, val)
		return
	}
	o.pending = append(o.pending, emitted{Block: block, Objects: [][]byte{val}})
}

// flush emits what was added and logs it under frame seq of stream.
func (o *outputs) flush(log emittedLog, seq uint64, stream string) emittedLog {
	for _, e := range o.pending {
		for _, v := range e.Objects {
			o.ctx.Emit(goka.Stream(topology.Objects), e.Block, v)
		}
		e.Seq, e.Stream = seq, stream
		log = log.add(e)
	}
	o.pending = nil
	return log
}

// objects adds the counted tracks seen at loc, each on its plant from the
// field map, keeping only the class the block's crop profile counts.
func (o *outputs) objects(loc location, classes []string, counted []*Track) {
	if len(counted) == 0 {
		return
	}
	p := o.p
	fb := p.fields.Get(loc.Block)
	prof, err := p.profile(fb)
	if err != nil {
		p.deadLetter(o.ctx, o.raw, err)
		return
	}
	var row *schema.FieldRow
	if fb != nil {
		row = fieldmap.RowOf(fb, loc.Row)
	}
	for _, t := range counted {
		obj := object(loc, classes, t)
		if obj.ClassName != prof.Class {
			p.Stats.OtherClasses.Add(1)
			continue
		}
		if i, ok := fieldmap.PlantIndex(row, t.PositionM); ok {
			obj.PlantId = fieldmap.PlantID(loc.Row, i)
		}
		o.add(loc.Block, obj)
		p.Stats.Objects.Add(1)
	}
}

// control adds a pass control for the aggregate stage.
func (o *outputs) control(kind, reason string, loc location, d *schema.Detections) {
	if kind == schema.ControlPassEnd {
		o.p.Stats.PassesEnded.Add(1)
	}
	o.add(loc.Block, &schema.CountedObject{Control: kind, Reason: reason, CameraId: loc.Camera, StreamId: loc.Stream,
		FieldId: loc.Field, BlockId: loc.Block, RowId: loc.Row, FirstSequence: d.GetSequence(), LastSequence: d.GetSequence(),
		LastSeenUnixNs: d.GetCaptureUnixNs(), ModelId: d.GetModelId()})
}

// idleEnd ends the camera's pass on an idle record, unless a frame arrived
// after the watch saw the camera silent. What it sends is logged under the
// stream's last frame, so an idle record replayed after a crash sends it
// again (with that frame's records: the aggregate stage drops those it has).
func (p *Processor) idleEnd(out *outputs, st *cameraState, d *schema.Detections) {
	cur := st.Streams.Current
	if !st.Pass.Open {
		p.replay(out.ctx, out.raw, st, cur.LastSeq, cur.ID)
		return
	}
	if st.Pass.ArrivedNs > d.GetCaptureUnixNs() {
		return // frames came in since: the camera is not idle
	}
	last := &schema.Detections{Sequence: cur.LastSeq, CaptureUnixNs: d.GetCaptureUnixNs()}
	scores := make([]float64, len(st.Pass.CountScores))
	for i, v := range st.Pass.CountScores {
		scores[i] = float64(v)
	}
	out.objects(st.Loc, st.Pass.ClassNames, st.Tracker.EndStream(p.cfg.Params, scores))
	out.control(schema.ControlPassEnd, "idle", st.Loc, last)
	p.Stats.IdleEnded.Add(1)
	st.Pass.Open = false
	st.Emitted = out.flush(st.Emitted, cur.LastSeq, cur.ID)
	out.ctx.SetValue(st)
}

// profile is the block's crop profile, or the stage's default.
func (p *Processor) profile(fb *schema.FieldBlock) (*crops.Profile, error) {
	if fb == nil {
		return p.cfg.Default, nil
	}
	return p.profiles.Get(fb.GetCrop(), func(err error) (*crops.Profile, error) {
		return nil, fmt.Errorf("block %s: %w", fb.GetBlockId(), err)
	})
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
// graph: the field map (fieldmap.Table) and the count lines (zones.Table).
func (p *Processor) Lookups() []topology.Topic {
	return []topology.Topic{topology.Fields, topology.CountLines}
}
