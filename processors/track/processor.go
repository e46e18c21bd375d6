package track

import (
	"bytes"
	"context"
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
	// ReplayWindow is how many frames back the objects a frame confirmed are
	// kept, to be sent again if that frame is replayed. Default 512.
	ReplayWindow uint64
}

// cameraState is a camera's entry in the track table.
type cameraState struct {
	Version int
	Tracker State
	// Emitted are recent frames that confirmed objects, with the encoded
	// objects, so a frame replayed after a crash sends them again: goka writes
	// the table and the outputs as separate records, and a crash can keep the
	// one and lose the other. Sending again is harmless (aggregate dedups).
	Emitted []emitted
}

type emitted struct {
	Seq     uint64
	Block   string
	Objects [][]byte
}

// stateCodec writes a camera's state in gob behind a marker byte; JSON
// (what the first builds wrote, still read) took 70 % of the stage's time,
// as goka decodes and re-encodes the state with every frame.
type stateCodec struct{}

const gobMarker = 0x01

func (stateCodec) Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(gobMarker)
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, fmt.Errorf("track state: %w", err)
	}
	return buf.Bytes(), nil
}

func (stateCodec) Decode(b []byte) (any, error) {
	var s cameraState
	var err error
	switch {
	case len(b) > 0 && b[0] == '{':
		err = json.Unmarshal(b, &s)
	case len(b) > 0 && b[0] == gobMarker:
		err = gob.NewDecoder(bytes.NewReader(b[1:])).Decode(&s)
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
		for _, e := range st.Emitted {
			if e.Seq == d.Sequence {
				for _, o := range e.Objects {
					ctx.Emit(goka.Stream(topology.Objects), e.Block, o)
					p.Stats.Reemitted.Add(1)
				}
			}
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
		st.Emitted = append(st.Emitted, e)
	}
	keep := st.Emitted[:0]
	for _, e := range st.Emitted {
		if e.Seq+p.cfg.ReplayWindow > d.Sequence {
			keep = append(keep, e)
		}
	}
	st.Emitted = keep
	ctx.SetValue(st)
}

// object describes a confirmed track; its id is the camera and track id, so
// a replay produces the same id.
func object(d *schema.Detections, t *Track) *schema.CountedObject {
	o := &schema.CountedObject{
		ObjectId: fmt.Sprintf("%s-%d", d.CameraId, t.ID), CameraId: d.CameraId, FieldId: d.FieldId, BlockId: d.BlockId, RowId: d.RowId,
		ClassId: uint32(t.Class), FirstSequence: t.FirstSeq, LastSequence: t.LastSeq, FirstSeenUnixNs: t.FirstNs, LastSeenUnixNs: t.LastNs,
		BestBox:   &schema.Box{X1: float32(t.Best.X1), Y1: float32(t.Best.Y1), X2: float32(t.Best.X2), Y2: float32(t.Best.Y2)},
		BestScore: float32(t.Best.Score), PositionM: t.PositionM, FramesSeen: uint32(t.Frames),
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
