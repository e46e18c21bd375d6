package track

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"

	"github.com/cropstream/cropstream/broker"
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
}

// cameraState is a camera's entry in the track table.
type cameraState struct {
	Version int
	Tracker State
	// Emitted are the objects of recent frames (see emittedLog).
	Emitted emittedLog
}

// stateCodec writes a camera's state as a marker byte, the length of the
// tracker's state in gob, that state, and the emitted log as is. goka
// decodes and re-encodes the state with every frame: in JSON (what the first
// builds wrote, still read) that took 70 % of the stage's time.
type stateCodec struct{}

const (
	gobMarker = 0x01 // gob of the whole state (an earlier build; still read)
	logMarker = 0x02 // gob of the tracker, then the raw emitted log
)

// trackerState is what goes through gob.
type trackerState struct {
	Version int
	Tracker State
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
	if err := gob.NewEncoder(&buf).Encode(trackerState{Version: s.Version, Tracker: s.Tracker}); err != nil {
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
			s.Version, s.Tracker = ts.Version, ts.Tracker
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
}

// Processor is the track stage, a goka group with the tracker state of each
// camera in its table (detections and the table are co-partitioned by camera).
type Processor struct {
	cfg   Config
	conn  *broker.Conn
	Stats Stats
}

// New makes the stage.
func New(cfg Config, conn *broker.Conn) *Processor {
	if cfg.ReplayWindow == 0 {
		cfg.ReplayWindow = 512
	}
	return &Processor{cfg: cfg, conn: conn}
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

// Run processes until ctx is cancelled.
func (p *Processor) Run(ctx context.Context) error {
	return p.conn.RunProcessor(ctx, Stage, p.Graph())
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
	counted, applied := st.Tracker.Step(p.cfg.Params, FrameOf(d))
	if !applied {
		p.Stats.Replays.Add(1)
		err := st.Emitted.each(func(e emitted) {
			if e.Seq == d.Sequence {
				for _, o := range e.Objects {
					ctx.Emit(goka.Stream(topology.Objects), e.Block, o)
					p.Stats.Reemitted.Add(1)
				}
			}
		})
		if err != nil {
			// The table record is corrupt: say so rather than lose objects
			// without a trace.
			p.deadLetter(ctx, raw, fmt.Errorf("replayed frame %d: %w", d.Sequence, err))
		}
		return
	}
	p.Stats.Frames.Add(1)
	if len(counted) > 0 {
		e := emitted{Seq: d.Sequence, Block: d.BlockId}
		for _, t := range counted {
			val, err := schema.Encode(object(d, t))
			if err != nil {
				p.deadLetter(ctx, raw, err)
				continue
			}
			e.Objects = append(e.Objects, val)
			ctx.Emit(goka.Stream(topology.Objects), d.BlockId, val)
			p.Stats.Objects.Add(1)
		}
		st.Emitted = st.Emitted.add(e)
	}
	if d.Sequence >= p.cfg.ReplayWindow {
		kept, err := st.Emitted.since(d.Sequence - p.cfg.ReplayWindow + 1)
		if err != nil {
			p.deadLetter(ctx, raw, fmt.Errorf("frame %d: %w (replay log reset)", d.Sequence, err))
		}
		st.Emitted = kept
	}
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
	broker.EmitDeadLetter(ctx, Stage, raw, reason)
}
