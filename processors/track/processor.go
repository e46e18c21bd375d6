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
	"github.com/cropstream/cropstream/zones"
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
	// MaxSequenceJump is the most frames a stream may skip ahead before a
	// frame is refused until the next one confirms the jump (see
	// Streams.Admit). Default 100,000 (nearly 3 hours at 10 frames/s).
	MaxSequenceJump uint64
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
	// Streams says which stream the camera follows and which recent frames
	// were applied.
	Streams Streams
	// Loc is where the current stream's frames were taken: the tracks still
	// open when it ends belong there, not to the next stream's block.
	Loc location
	// Pass says whether the camera's pass along Loc's row is running.
	Pass pass
	// Emitted are the objects of recent frames (see emittedLog).
	Emitted emittedLog
	// Lines are the camera's counts on its count lines, by line name.
	Lines map[string]*lineState
	// Crossed are the line crossings of recent frames, as Emitted.
	Crossed emittedLog
}

// location is where a stream's frames come from.
type location struct {
	Camera, Stream, Field, Block, Row string
}

// stateCodec writes a camera's state as a marker byte, the length of the
// tracker's state in gob, that state, the count lines' state and the
// crossings log (each a length and bytes), and the emitted log as is. goka
// decodes and re-encodes the state with every frame: in JSON (what the first
// builds wrote, still read) that took 70 % of the stage's time. The count
// lines stay out of gob, whose type descriptors alone made every camera's
// record 18 % larger (lines.go).
type stateCodec struct{}

const (
	gobMarker     = 0x01 // gob of the whole state (an earlier build; still read)
	logMarker     = 0x02 // gob of the tracker, then the raw emitted log without streams (still read)
	streamsMarker = 0x03 // gob of the tracker and streams, then the raw emitted log (still read)
	linesMarker   = 0x04 // as streamsMarker, with the count lines and crossings log before the emitted log
)

// trackerState is what goes through gob.
type trackerState struct {
	Version int
	Tracker State
	Streams Streams
	Loc     location
	Pass    pass
}

// legacyState is the JSON and first gob form, with emitted frames as structs.
type legacyState struct {
	Version int
	Tracker State
	Emitted []emitted
}

func (stateCodec) Decode(b []byte) (any, error) {
	s, err := decodeState(b)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (stateCodec) Encode(v any) ([]byte, error) {
	s, ok := v.(*cameraState)
	if !ok {
		return nil, fmt.Errorf("track state: cannot encode %T", v)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(trackerState{Version: s.Version, Tracker: s.Tracker, Streams: s.Streams, Loc: s.Loc, Pass: s.Pass}); err != nil {
		return nil, fmt.Errorf("track state: %w", err)
	}
	lines := appendLines(nil, s.Lines)
	out := make([]byte, 0, 1+3*binary.MaxVarintLen64+buf.Len()+len(lines)+len(s.Crossed)+len(s.Emitted))
	out = append(out, linesMarker)
	for _, part := range [][]byte{buf.Bytes(), lines, s.Crossed} {
		out = binary.AppendUvarint(out, uint64(len(part)))
		out = append(out, part...)
	}
	return append(out, s.Emitted...), nil
}

// decodeState reads a table value in any encoding the stage reads.
func decodeState(b []byte) (*cameraState, error) {
	var s cameraState
	var err error
	switch {
	case len(b) > 0 && (b[0] == logMarker || b[0] == streamsMarker || b[0] == linesMarker):
		parts := 1
		if b[0] == linesMarker {
			parts = 3
		}
		var part [3][]byte
		rest := b[1:]
		for i := range parts {
			n, k := binary.Uvarint(rest)
			if k <= 0 || n > uint64(len(rest)-k) {
				return nil, fmt.Errorf("track state: truncated (%d bytes)", len(b))
			}
			part[i], rest = rest[k:k+int(n)], rest[k+int(n):]
		}
		var ts trackerState
		if err = gob.NewDecoder(bytes.NewReader(part[0])).Decode(&ts); err == nil {
			s.Version, s.Tracker, s.Streams, s.Loc, s.Pass = ts.Version, ts.Tracker, ts.Streams, ts.Loc, ts.Pass
			if s.Lines, err = readLines(part[1]); err == nil && len(part[2]) > 0 {
				s.Crossed = append(emittedLog(nil), part[2]...)
			}
			switch {
			case err != nil:
			case b[0] == logMarker:
				s.Emitted, err = fromFirstFormat(rest)
			default:
				s.Emitted = append(emittedLog(nil), rest...)
			}
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
	if !s.Streams.Started && s.Tracker.Started {
		// A state from before streams: the camera's unnamed stream, every
		// recent frame taken as applied (they were, or were skipped).
		s.Streams = Streams{Started: true, Current: StreamMark{LastSeq: s.Tracker.LastSeq}}
		for i := range s.Streams.Applied {
			s.Streams.Applied[i] = ^uint64(0)
		}
	}
	return &s, nil
}

// Stats are the stage's running counters.
type Stats struct {
	Frames, Replays, Objects, Reemitted, DeadLetters atomic.Int64
	// Streams counts streams opened; Refused, frames dead-lettered because
	// the tracker would not apply them (out of order, superseded stream,
	// jump, key not the camera).
	Streams, Refused atomic.Int64
	// OtherClasses counts ended tracks of classes the block's crop does not
	// count (they stay in detections, never become objects).
	OtherClasses atomic.Int64
	// PassesEnded counts row passes ended, IdleEnded those by the idle gap.
	PassesEnded, IdleEnded atomic.Int64
	// Crossings counts tracks counted across count lines (not re-sent ones).
	Crossings atomic.Int64
}

// Processor is the track stage, a goka group with the tracker state of each
// camera in its table (detections and the table are co-partitioned by camera).
type Processor struct {
	cfg   Config
	conn  *broker.Conn
	Stats Stats

	profiles crops.Profiles
	idle     idleWatch
	fields   *fieldmap.Table
	lines    *zones.Table
	// lineWarned holds the camera lines already warned of (checkLine).
	lineWarned sync.Map
}

// New makes the stage.
func New(cfg Config, conn *broker.Conn) (*Processor, error) {
	if cfg.ReplayWindow == 0 {
		cfg.ReplayWindow = 512
	}
	if cfg.MaxSequenceJump == 0 {
		cfg.MaxSequenceJump = 100_000
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
	return &Processor{cfg: cfg, conn: conn, idle: idleWatch{open: map[string]int64{}},
		fields: fieldmap.NewTable(), lines: zones.NewTable()}, nil
}

// Graph is the stage's goka group graph.
func (p *Processor) Graph() *goka.GroupGraph {
	return goka.DefineGroup(goka.Group(topology.Track),
		goka.Input(goka.Stream(topology.Detections), new(codec.Bytes), p.process),
		goka.Persist(stateCodec{}),
		goka.Output(goka.Stream(topology.Objects), new(codec.Bytes)),
		goka.Output(goka.Stream(topology.LineCrossings), new(codec.Bytes)),
		goka.Output(goka.Stream(topology.DLQ), new(codec.Bytes)),
	)
}

// Run processes until ctx is cancelled, once the field map and the count
// lines are read (the first frames are placed and counted too); it owns the
// idle watch.
func (p *Processor) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		run := func(ctx context.Context) error { return p.conn.RunProcessor(ctx, Stage, p.Graph()) }
		return broker.ServeLookups(ctx, p.conn, run, p.fields, p.lines)
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
	// The table is keyed by the record's key: a key other than the camera
	// would track the camera in another camera's state.
	if key := ctx.Key(); key != d.CameraId {
		p.Stats.Refused.Add(1)
		p.deadLetter(ctx, raw, fmt.Errorf("detections of camera %q keyed %q: the key must be the camera id", d.CameraId, key))
		return
	}
	st, _ := ctx.Value().(*cameraState)
	if st == nil {
		st = &cameraState{Version: stateVersion}
	}
	if st.Loc.Camera == "" {
		// A state from before streams: its tracks were seen where the
		// camera last was.
		st.Loc = location{Camera: d.CameraId, Stream: st.Streams.Current.ID, Field: d.FieldId, Block: d.BlockId, Row: st.Tracker.RowID}
	}
	out := &outputs{p: p, ctx: ctx, raw: raw}
	if d.GetIdleGap() {
		p.idleEnd(out, st, d)
		return
	}
	if len(d.ClassNames) == 0 && len(d.CountScores) == 0 && st.Pass.Open {
		// A record without the model's metadata (an end marker from another
		// producer) decides tracks by the pass's.
		d.ClassNames, d.CountScores = st.Pass.ClassNames, st.Pass.CountScores
	} else if d.EndOfStream && len(d.CountScores) == 0 {
		d.CountScores = st.Pass.CountScores
	}
	verdict, why := st.Streams.Admit(d.StreamId, d.Sequence, p.cfg.MaxSequenceJump)
	switch verdict {
	case Refuse:
		p.Stats.Refused.Add(1)
		p.deadLetter(ctx, raw, fmt.Errorf("camera %s: %s", d.CameraId, why))
		ctx.SetValue(st) // a refused jump is remembered
		return
	case Replay:
		p.Stats.Replays.Add(1)
		p.replay(ctx, raw, st, d.Sequence, d.StreamId)
		return
	case Open:
		p.Stats.Streams.Add(1)
		if st.Tracker.Started {
			// The stream before ends: its open tracks are decided where
			// they were seen, and its pass is over.
			out.objects(st.Loc, st.Pass.classNames(d), st.Tracker.EndStream(p.cfg.Params, FrameOf(d).CountScores))
		}
		if st.Pass.Open {
			out.control(schema.ControlPassEnd, "new-stream", st.Loc, d)
			st.Pass.Open = false
		}
		st.Loc = location{Camera: d.CameraId, Stream: d.StreamId, Field: d.FieldId, Block: d.BlockId, Row: d.RowId}
	}
	counted, applied := st.Tracker.Step(p.cfg.Params, FrameOf(d))
	if !applied {
		// Admit and the tracker disagree: say so rather than lose the frame.
		p.deadLetter(ctx, raw, fmt.Errorf("camera %s: frame %d of stream %q admitted but not applied by the tracker (last applied %d)",
			d.CameraId, d.Sequence, d.StreamId, st.Tracker.LastSeq))
		return
	}
	p.Stats.Frames.Add(1)
	prev, wasOpen := st.Loc, st.Pass.Open
	cur := location{Camera: d.CameraId, Stream: d.StreamId, Field: d.FieldId, Block: d.BlockId, Row: d.RowId}
	changed := wasOpen && (prev.Block != cur.Block || prev.Row != cur.Row)
	// The new pass starts before the old one ends, so the aggregate stage
	// never sees a camera with no pass between two rows of a block.
	if !d.EndOfStream && (!wasOpen || changed) {
		out.control(schema.ControlPassStart, "", cur, d)
	}
	owner := cur
	if changed {
		owner = prev // the tracks a row change ends belong to the row left
	}
	out.objects(owner, d.ClassNames, counted)
	p.countLines(out, st, d)
	switch {
	case changed:
		out.control(schema.ControlPassEnd, "new-row", prev, d)
	case d.EndOfStream && wasOpen:
		out.control(schema.ControlPassEnd, "end-of-stream", prev, d)
	}
	st.Loc = cur
	st.Pass = pass{Open: !d.EndOfStream, ArrivedNs: time.Now().UnixNano(), ClassNames: d.ClassNames, CountScores: d.CountScores}
	st.Emitted = out.flush(st.Emitted, d.Sequence, d.StreamId)
	st.Crossed = out.flushCrossings(st.Crossed, d.CameraId, d.Sequence, d.StreamId)
	keep := p.keepEmitted(st)
	for _, l := range []*emittedLog{&st.Emitted, &st.Crossed} {
		kept, err := l.keep(keep)
		if err != nil {
			p.deadLetter(ctx, raw, fmt.Errorf("frame %d: %w (replay log reset)", d.Sequence, err))
		}
		*l = kept
	}
	p.idle.seen(d.CameraId, st.Pass.ArrivedNs, st.Pass.Open)
	ctx.SetValue(st)
}

// keepEmitted is which log entries a replay may still ask for: those of the
// current stream's last ReplayWindow frames, and those of earlier streams
// until the current one has run that many frames.
func (p *Processor) keepEmitted(st *cameraState) func(emitted) bool {
	cur := st.Streams.Current
	young := cur.LastSeq-cur.FirstSeq < p.cfg.ReplayWindow
	return func(e emitted) bool {
		if e.Stream != cur.ID {
			return young
		}
		return e.Seq+p.cfg.ReplayWindow > cur.LastSeq
	}
}

// replay sends again what frame seq of stream counted (a replay after a
// crash): objects and pass controls, each at its first place (the
// aggregate stage drops what it has), and line crossings (the same ids: the
// store collapses them).
func (p *Processor) replay(ctx goka.Context, raw []byte, st *cameraState, seq uint64, stream string) {
	for _, l := range []struct {
		log   emittedLog
		topic topology.Topic
	}{{st.Emitted, topology.Objects}, {st.Crossed, topology.LineCrossings}} {
		err := l.log.each(func(e emitted) {
			if e.Seq == seq && e.Stream == stream {
				for _, o := range e.Objects {
					ctx.Emit(goka.Stream(l.topic), e.Block, o)
					p.Stats.Reemitted.Add(1)
				}
			}
		})
		if err != nil {
			// The table record is corrupt: say so rather than lose
			// records without a trace.
			p.deadLetter(ctx, raw, fmt.Errorf("replayed frame %d: %w", seq, err))
		}
	}
}

// ObjectID names a counted track: camera, stream and track id, so a replay
// produces the same id and objects of two streams of one camera never share
// one (track ids only grow within a camera's state). The camera's unnamed
// stream keeps the ids of the builds before streams: camera-track.
func ObjectID(camera, stream string, track uint64) string {
	if stream == "" {
		return fmt.Sprintf("%s-%d", camera, track)
	}
	return fmt.Sprintf("%s-%s-%d", camera, stream, track)
}

// object describes a counted track seen at loc.
func object(loc location, classes []string, t *Track) *schema.CountedObject {
	o := &schema.CountedObject{
		ObjectId: ObjectID(loc.Camera, loc.Stream, t.ID), CameraId: loc.Camera, StreamId: loc.Stream, FieldId: loc.Field, BlockId: loc.Block, RowId: loc.Row,
		ClassId: uint32(t.Class), FirstSequence: t.FirstSeq, LastSequence: t.LastSeq, FirstSeenUnixNs: t.FirstNs, LastSeenUnixNs: t.LastNs,
		BestBox:   &schema.Box{X1: float32(t.Best.X1), Y1: float32(t.Best.Y1), X2: float32(t.Best.X2), Y2: float32(t.Best.Y2)},
		BestScore: float32(t.Best.Score), PositionM: t.PositionM, FramesSeen: uint32(t.Hits()), ModelId: t.Model,
	}
	if t.Class < len(classes) {
		o.ClassName = classes[t.Class]
	}
	return o
}

func (p *Processor) deadLetter(ctx goka.Context, raw []byte, reason error) {
	p.Stats.DeadLetters.Add(1)
	p.conn.EmitDeadLetter(ctx, Stage, raw, reason)
}
