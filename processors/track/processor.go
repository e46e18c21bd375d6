package track

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"golang.org/x/sync/errgroup"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/fieldmap"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// Stage is the name dead letters from this stage carry.
const Stage = "track"

// stateVersion is the version of the persisted camera state.
const stateVersion = 1

// Config configures the stage.
type Config struct {
	// Params tune the tracker; zero fields take the tracker's defaults.
	Params Params
	// ReplayWindow is how many frames back the objects a frame counted are
	// kept, to be sent again if that frame is replayed. Default 512.
	ReplayWindow uint64
	// IdleGap ends a camera's pass when no frame of it arrived for this long
	// (a live feed that stopped without an end-of-stream record). Default 2
	// minutes; negative turns the watch off.
	IdleGap time.Duration
	// Default is the crop profile of blocks not in the field map: only its
	// class is counted there. Default apple.
	Default *crops.Profile
}

// DefaultIdleGap is Config.IdleGap's default.
const DefaultIdleGap = 2 * time.Minute

// cameraState is a camera's entry in the track table.
type cameraState struct {
	Version int
	Tracker State
	Pass    pass
	// Emitted are the objects of recent frames (see emittedLog).
	Emitted emittedLog
}

// stateCodec writes a camera's state as a marker byte, the length of the
// tracker's state in gob, that state, and the emitted log as is. goka
// decodes and re-encodes the state with every frame: in JSON (what the first
// builds wrote, still read) that was most of the stage's time.
type stateCodec struct{}

const (
	gobMarker = 0x01 // gob of the whole state (an earlier build; still read)
	logMarker = 0x02 // gob of the tracker, then the raw emitted log
)

// trackerState is what goes through gob.
type trackerState struct {
	Version int
	Tracker State
	Pass    pass
}

// legacyState is the JSON and first gob form, with emitted frames as structs.
type legacyState struct {
	Version int
	Tracker State
	Emitted []emitted
}

func (stateCodec) Encode(v any) ([]byte, error) {
	s, ok := v.(*cameraState)
	if !ok {
		return nil, fmt.Errorf("track state: cannot encode %T", v)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(trackerState{Version: s.Version, Tracker: s.Tracker, Pass: s.Pass}); err != nil {
		return nil, fmt.Errorf("track state: %w", err)
	}
	out := make([]byte, 0, 1+binary.MaxVarintLen64+buf.Len()+len(s.Emitted))
	out = append(out, logMarker)
	out = binary.AppendUvarint(out, uint64(buf.Len()))
	out = append(out, buf.Bytes()...)
	return append(out, s.Emitted...), nil
}

func (stateCodec) Decode(b []byte) (any, error) {
	var s cameraState
	var err error
	switch {
	case len(b) > 0 && b[0] == logMarker:
		n, k := binary.Uvarint(b[1:])
		if k <= 0 || n > uint64(len(b)-1-k) {
			return nil, fmt.Errorf("track state: truncated (%d bytes)", len(b))
		}
		gobPart := b[1+k : 1+k+int(n)]
		var ts trackerState
		if err = gob.NewDecoder(bytes.NewReader(gobPart)).Decode(&ts); err == nil {
			s.Version, s.Tracker, s.Pass = ts.Version, ts.Tracker, ts.Pass
			s.Emitted = append(emittedLog(nil), b[1+k+int(n):]...)
		}
	case len(b) > 0 && (b[0] == '{' || b[0] == gobMarker):
		var ls legacyState
		if b[0] == '{' {
			err = json.Unmarshal(b, &ls)
		} else {
			err = gob.NewDecoder(bytes.NewReader(b[1:])).Decode(&ls)
		}
		s.Version, s.Tracker = ls.Version, ls.Tracker
		for _, e := range ls.Emitted {
			s.Emitted = s.Emitted.add(e)
		}
	default:
		err = fmt.Errorf("unknown encoding (%d bytes)", len(b))
	}
	if err != nil {
		return nil, fmt.Errorf("track state: %w", err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("track state version %d, this build reads %d", s.Version, stateVersion)
	}
	return &s, nil
}

// Stats are the stage's running counters.
type Stats struct {
	Frames, Replays, Objects, Reemitted, DeadLetters atomic.Int64
	// OtherClasses counts ended tracks of classes the block's crop does not
	// count (they stay in detections, never become objects).
	OtherClasses atomic.Int64
	// PassesEnded counts row passes ended, IdleEnded those by the idle gap.
	PassesEnded, IdleEnded atomic.Int64
}

// Processor is the track stage, a goka group with the tracker state of each
// camera in its table (detections and the table are co-partitioned by camera).
type Processor struct {
	cfg   Config
	conn  *broker.Conn
	Stats Stats

	mu       sync.Mutex
	profiles map[string]*crops.Profile
	idle     idleWatch
	fields   *fieldmap.Table
}

// New makes the stage.
func New(cfg Config, conn *broker.Conn) (*Processor, error) {
	if cfg.ReplayWindow == 0 {
		cfg.ReplayWindow = 512
	}
	if cfg.IdleGap == 0 {
		cfg.IdleGap = DefaultIdleGap
	}
	if cfg.Default == nil {
		prof, err := crops.Load("apple")
		if err != nil {
			return nil, err
		}
		cfg.Default = prof
	}
	return &Processor{cfg: cfg, conn: conn, profiles: map[string]*crops.Profile{}, idle: idleWatch{open: map[string]int64{}}, fields: fieldmap.NewTable()}, nil
}

// Graph is the stage's goka group graph.
func (p *Processor) Graph() *goka.GroupGraph {
	return goka.DefineGroup(goka.Group(topology.Track),
		goka.Input(goka.Stream(topology.Detections), new(codec.Bytes), p.process),
		goka.Persist(stateCodec{}),
		goka.Output(goka.Stream(topology.Objects), new(codec.Bytes)),
		goka.Output(goka.Stream(topology.DLQ), new(codec.Bytes)),
	)
}

// Run processes until ctx is cancelled; it owns the idle watch.
func (p *Processor) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return p.fields.Run(ctx, p.conn) })
	g.Go(func() error {
		// Frames wait for the field map, so the first ones are placed too.
		select {
		case <-p.fields.Ready():
		case <-ctx.Done():
			return nil
		}
		return p.conn.RunProcessor(ctx, Stage, p.Graph())
	})
	if p.cfg.IdleGap > 0 {
		g.Go(func() error { return p.watchIdle(ctx) })
	}
	return g.Wait()
}

func (p *Processor) process(ctx goka.Context, msg any) {
	raw, _ := msg.([]byte)
	d, err := schema.DecodeDetections(raw)
	if err != nil {
		p.deadLetter(ctx, raw, err)
		return
	}
	st, _ := ctx.Value().(*cameraState)
	if st == nil {
		st = &cameraState{Version: stateVersion}
	}
	if d.GetIdleGap() {
		p.idleEnd(ctx, st, d, raw)
		return
	}
	prev := st.Pass
	if len(d.ClassNames) == 0 && len(d.CountScores) == 0 && prev.Open {
		// A record without the model's metadata (an end-of-stream or idle
		// marker from another producer) decides tracks by the pass's.
		d.ClassNames, d.CountScores = prev.ClassNames, prev.CountScores
	} else if d.EndOfStream && len(d.CountScores) == 0 {
		d.CountScores = prev.CountScores
	}
	counted, applied := st.Tracker.Step(p.cfg.Params, FrameOf(d))
	if !applied {
		p.Stats.Replays.Add(1)
		p.reemit(ctx, st, d.Sequence, raw)
		return
	}
	p.Stats.Frames.Add(1)
	var out outputs
	cur := passOf(d)
	changed := prev.Open && (prev.Block != cur.Block || prev.Row != cur.Row)
	owner := cur
	if changed {
		owner = prev // the tracks a row change ends belong to the row left
	}
	// The new pass starts before the old one ends, so the aggregate stage
	// never sees a camera with no pass between two rows of a block.
	if !d.EndOfStream && (!prev.Open || changed) {
		err = p.passControl(&out, schema.ControlPassStart, "", d.CameraId, cur, d)
	}
	if err == nil {
		err = p.objects(ctx, &out, d, owner, counted)
	}
	switch {
	case err != nil:
	case changed:
		err = p.passControl(&out, schema.ControlPassEnd, "new-row", d.CameraId, prev, d)
		p.Stats.PassesEnded.Add(1)
	case d.EndOfStream && prev.Open:
		err = p.passControl(&out, schema.ControlPassEnd, "end-of-stream", d.CameraId, prev, d)
		p.Stats.PassesEnded.Add(1)
	}
	if err != nil {
		p.deadLetter(ctx, raw, fmt.Errorf("frame %d: %w", d.Sequence, err))
	}
	st.Pass = cur
	st.Pass.Open = !d.EndOfStream
	st.Pass.ClassNames, st.Pass.CountScores = d.ClassNames, d.CountScores
	st.Pass.ArrivedNs = time.Now().UnixNano()
	p.emit(ctx, st, d.Sequence, out)
	if d.Sequence >= p.cfg.ReplayWindow {
		kept, err := st.Emitted.since(d.Sequence - p.cfg.ReplayWindow + 1)
		if err != nil {
			p.deadLetter(ctx, raw, fmt.Errorf("frame %d: %w (replay log reset)", d.Sequence, err))
		}
		st.Emitted = kept
	}
	p.idle.seen(d.CameraId, st.Pass.ArrivedNs, st.Pass.Open)
	ctx.SetValue(st)
}

// reemit sends again what frame seq emitted (a replay after a crash).
func (p *Processor) reemit(ctx goka.Context, st *cameraState, seq uint64, raw []byte) {
	err := st.Emitted.each(func(e emitted) {
		if e.Seq == seq {
			for _, o := range e.Objects {
				ctx.Emit(goka.Stream(topology.Objects), e.Block, o)
				p.Stats.Reemitted.Add(1)
			}
		}
	})
	if err != nil {
		// The table record is corrupt: say so rather than lose objects
		// without a trace.
		p.deadLetter(ctx, raw, fmt.Errorf("replayed frame %d: %w", seq, err))
	}
}

// idleEnd ends the camera's pass on an idle record, unless a frame arrived
// after the watch saw the camera silent. What it emits is logged under the
// last frame's sequence, so an idle record replayed after a crash sends it
// again (with that frame's objects: aggregate drops the duplicates).
func (p *Processor) idleEnd(ctx goka.Context, st *cameraState, d *schema.Detections, raw []byte) {
	if !st.Pass.Open {
		p.reemit(ctx, st, st.Tracker.LastSeq, raw)
		return
	}
	if st.Pass.ArrivedNs > d.GetCaptureUnixNs() {
		return // frames came in since: the camera is not idle
	}
	var out outputs
	last := &schema.Detections{CameraId: d.CameraId, FieldId: st.Pass.Field, BlockId: st.Pass.Block, RowId: st.Pass.Row,
		Sequence: st.Tracker.LastSeq, CaptureUnixNs: d.GetCaptureUnixNs(), ClassNames: st.Pass.ClassNames, CountScores: st.Pass.CountScores}
	params := p.cfg.Params
	if params.CountScores == nil {
		params.CountScores = FrameOf(last).CountScores
	}
	err := p.objects(ctx, &out, last, st.Pass, st.Tracker.Close(params))
	if err == nil {
		err = p.passControl(&out, schema.ControlPassEnd, "idle", d.CameraId, st.Pass, last)
	}
	if err != nil {
		p.deadLetter(ctx, raw, err)
	}
	p.Stats.PassesEnded.Add(1)
	p.Stats.IdleEnded.Add(1)
	st.Pass.Open = false
	p.emit(ctx, st, st.Tracker.LastSeq, out)
	ctx.SetValue(st)
}

// object describes a counted track; its id is the camera and track id, so
// a replay produces the same id.
func object(d *schema.Detections, t *Track) *schema.CountedObject {
	o := &schema.CountedObject{
		ObjectId: fmt.Sprintf("%s-%d", d.CameraId, t.ID), CameraId: d.CameraId, FieldId: d.FieldId, BlockId: d.BlockId, RowId: d.RowId,
		ClassId: uint32(t.Class), FirstSequence: t.FirstSeq, LastSequence: t.LastSeq, FirstSeenUnixNs: t.FirstNs, LastSeenUnixNs: t.LastNs,
		BestBox:   &schema.Box{X1: float32(t.Best.X1), Y1: float32(t.Best.Y1), X2: float32(t.Best.X2), Y2: float32(t.Best.Y2)},
		BestScore: float32(t.Best.Score), PositionM: t.PositionM, FramesSeen: uint32(t.Hits()),
	}
	if t.Class < len(d.ClassNames) {
		o.ClassName = d.ClassNames[t.Class]
	}
	return o
}

func (p *Processor) deadLetter(ctx goka.Context, raw []byte, reason error) {
	p.Stats.DeadLetters.Add(1)
	p.conn.EmitDeadLetter(ctx, Stage, raw, reason)
}
