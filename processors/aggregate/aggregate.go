package aggregate

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// Stage is the name dead letters from this stage carry.
const Stage = "aggregate"

const stateVersion = 3 // 2: seen objects as per-camera bitsets; 3: as windows of the latest ids

// Block describes a block the stage knows: its crop and layout, and the hand
// counts that calibrate it.
type Block struct {
	Profile *crops.Profile
	// PlantSpacingM places objects on plants by their position along the row:
	// plant i (from 0) covers [i*spacing, (i+1)*spacing).
	PlantSpacingM float64
	Plants        int // plants per row; positions beyond are clamped
	HandCounts    []crops.HandCount
}

// Config configures the stage.
type Config struct {
	// Blocks by block id. An unknown block is counted with the Default crop.
	Blocks map[string]Block
	// Default is the profile of blocks not in Blocks. Default apple.
	Default *crops.Profile
}

// blockState is a block's entry in the aggregate table.
type blockState struct {
	Version     int
	Seen        *seen // objects already counted (replays are skipped)
	Units       int
	PerRow      map[string]int
	PerPlant    map[string]int
	Unplaced    int
	WindowStart int64
	WindowEnd   int64
	Closed      []string // estimate ids already emitted
}

type stateCodec struct{}

func (stateCodec) Encode(v any) ([]byte, error) { return json.Marshal(v) }
func (stateCodec) Decode(b []byte) (any, error) {
	var s blockState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("aggregate state: %w", err)
	}
	switch s.Version {
	case stateVersion:
	case 2:
		var v2 struct {
			Seen struct {
				Cameras map[string][]uint64 `json:"cameras"`
				Other   map[string]bool     `json:"other"`
			}
		}
		if err := json.Unmarshal(b, &v2); err != nil {
			return nil, fmt.Errorf("aggregate state v2: %w", err)
		}
		s.Version, s.Seen = stateVersion, fromV2(v2.Seen.Cameras, v2.Seen.Other)
	default:
		return nil, fmt.Errorf("aggregate state version %d, this build reads %d (and 2)", s.Version, stateVersion)
	}
	if s.Seen == nil || s.Seen.Windows == nil {
		return nil, fmt.Errorf("aggregate state version %d without its seen set", s.Version)
	}
	return &s, nil
}

// Stats are the stage's counters.
type Stats struct {
	Objects, Duplicates, Estimates, DeadLetters atomic.Int64
}

// Processor is the aggregate stage.
type Processor struct {
	cfg   Config
	conn  *broker.Conn
	Stats Stats
}

// New makes the stage.
func New(cfg Config, conn *broker.Conn) (*Processor, error) {
	if cfg.Default == nil {
		p, err := crops.Load("apple")
		if err != nil {
			return nil, err
		}
		cfg.Default = p
	}
	for id, b := range cfg.Blocks {
		if b.Profile == nil {
			return nil, fmt.Errorf("aggregate: block %s has no crop profile", id)
		}
	}
	return &Processor{cfg: cfg, conn: conn}, nil
}

// Graph is the stage's goka group graph.
func (p *Processor) Graph() *goka.GroupGraph {
	return goka.DefineGroup(goka.Group(topology.Aggregate),
		goka.Input(goka.Stream(topology.Objects), new(codec.Bytes), p.process),
		goka.Persist(stateCodec{}),
		goka.Output(goka.Stream(topology.Yield), new(codec.Bytes)),
		goka.Output(goka.Stream(topology.DLQ), new(codec.Bytes)),
	)
}

// Run processes until ctx is cancelled.
func (p *Processor) Run(ctx context.Context) error {
	return p.conn.RunProcessor(ctx, Stage, p.Graph())
}

func (p *Processor) process(ctx goka.Context, msg any) {
	raw, _ := msg.([]byte)
	o, err := schema.DecodeCountedObject(raw)
	if err != nil {
		p.deadLetter(ctx, raw, err)
		return
	}
	st, _ := ctx.Value().(*blockState)
	if st == nil {
		st = &blockState{Version: stateVersion, Seen: newSeen(), PerRow: map[string]int{}, PerPlant: map[string]int{}}
	}
	if o.Control == schema.ControlCloseWindow {
		y := p.estimate(o.BlockId, o.FieldId, st)
		y.Final = true
		val, err := schema.Encode(y)
		if err != nil {
			p.deadLetter(ctx, raw, err)
			return
		}
		ctx.Emit(goka.Stream(topology.Yield), o.BlockId, val)
		p.Stats.Estimates.Add(1)
		if !slices.Contains(st.Closed, y.EstimateId) {
			st.Closed = append(st.Closed, y.EstimateId)
		}
		// The next window starts empty; Seen stays so replays stay skipped.
		st.Units, st.Unplaced, st.WindowStart, st.WindowEnd = 0, 0, 0, 0
		st.PerRow, st.PerPlant = map[string]int{}, map[string]int{}
		ctx.SetValue(st)
		return
	}
	if !st.Seen.add(o.ObjectId, o.CameraId) {
		p.Stats.Duplicates.Add(1)
		return
	}
	st.Units++
	st.PerRow[o.RowId]++
	if plant, ok := p.plantOf(o); ok {
		st.PerPlant[plant]++
	} else {
		st.Unplaced++
	}
	if st.WindowStart == 0 || o.FirstSeenUnixNs < st.WindowStart {
		st.WindowStart = o.FirstSeenUnixNs
	}
	st.WindowEnd = max(st.WindowEnd, o.LastSeenUnixNs)
	p.Stats.Objects.Add(1)
	ctx.SetValue(st)
}

// plantOf names the plant an object hangs on, as the simulator and growers
// name them: ROW-P001 for the first plant of the row.
func (p *Processor) plantOf(o *schema.CountedObject) (string, bool) {
	b, ok := p.cfg.Blocks[o.BlockId]
	if !ok || b.PlantSpacingM <= 0 || o.PositionM == nil {
		return "", false
	}
	i := int(math.Floor(*o.PositionM / b.PlantSpacingM))
	if b.Plants > 0 {
		i = min(max(i, 0), b.Plants-1)
	}
	if i < 0 {
		return "", false
	}
	return fmt.Sprintf("%s-P%03d", o.RowId, i+1), true
}

func (p *Processor) estimate(block, field string, st *blockState) *schema.YieldEstimate {
	prof := p.cfg.Default
	var hand []crops.HandCount
	if b, ok := p.cfg.Blocks[block]; ok {
		prof, hand = b.Profile, b.HandCounts
	}
	e := crops.EstimateYield(prof, st.Units, st.PerPlant, hand)
	return &schema.YieldEstimate{
		EstimateId: fmt.Sprintf("%s-%d", block, st.WindowStart), FieldId: field, BlockId: block, Crop: prof.Name,
		WindowStartUnixNs: st.WindowStart, WindowEndUnixNs: st.WindowEnd, UnitsCounted: uint64(st.Units),
		VisibilityFactor: e.Visibility, UnitsEstimated: e.UnitsEstimated, YieldKg: e.YieldKg,
		YieldKgLow: e.YieldLowKg, YieldKgHigh: e.YieldHighKg, Confidence: e.Confidence, EmittedUnixNs: time.Now().UnixNano(),
	}
}

func (p *Processor) deadLetter(ctx goka.Context, raw []byte, reason error) {
	p.Stats.DeadLetters.Add(1)
	broker.EmitDeadLetter(ctx, Stage, raw, reason)
}
