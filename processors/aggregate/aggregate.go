package aggregate

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
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

// stateVersion of the block state: 2 kept seen objects as per-camera
// bitsets; 3 as windows of the latest ids; 4 counts plants in dense rows.
const stateVersion = 4

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
	Version int
	Seen    *seen // objects already counted (replays are skipped)
	Units   int
	PerRow  map[string]int
	// Plants counts objects per plant: row id -> count by plant index (0 is
	// the row's first plant). Dense, as a block is written to the table with
	// every object: a map by plant name was 8x the bytes (1,000-plant blocks
	// ran at 3,800 objects/s with it).
	Plants      map[string]plantCounts
	Unplaced    int
	WindowStart int64
	WindowEnd   int64
	Closed      []string // estimate ids already emitted
}

// stateCodec writes the block state in gob behind a marker byte. JSON (the
// versions 2 and 3, still read) cost three quarters of the stage's time:
// goka decodes and encodes the whole block state for every object.
type stateCodec struct{}

const gobMarker = 0x01

func (stateCodec) Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(gobMarker)
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, fmt.Errorf("aggregate state: %w", err)
	}
	return buf.Bytes(), nil
}

func (stateCodec) Decode(b []byte) (any, error) {
	var s blockState
	switch {
	case len(b) > 0 && b[0] == '{':
		return decodeJSONState(b)
	case len(b) > 0 && b[0] == gobMarker:
		if err := gob.NewDecoder(bytes.NewReader(b[1:])).Decode(&s); err != nil {
			return nil, fmt.Errorf("aggregate state: %w", err)
		}
	default:
		return nil, fmt.Errorf("aggregate state: unknown encoding (%d bytes)", len(b))
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("aggregate state version %d, this build reads %d (and 2, 3)", s.Version, stateVersion)
	}
	// gob leaves empty maps nil.
	if s.Seen == nil {
		s.Seen = newSeen()
	}
	if s.Seen.Windows == nil {
		s.Seen.Windows = map[string]*idWindow{}
	}
	if s.PerRow == nil {
		s.PerRow = map[string]int{}
	}
	if s.Plants == nil {
		s.Plants = map[string]plantCounts{}
	}
	return &s, nil
}

// decodeJSONState reads the JSON states of versions 2 (whole bitsets) and 3
// (id windows), both with plants in a map by name.
func decodeJSONState(b []byte) (*blockState, error) {
	var legacy struct {
		blockState
		PerPlant map[string]int // plant id -> count
	}
	if err := json.Unmarshal(b, &legacy); err != nil {
		return nil, fmt.Errorf("aggregate state: %w", err)
	}
	s := legacy.blockState
	switch s.Version {
	case 3:
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
		s.Seen = fromV2(v2.Seen.Cameras, v2.Seen.Other)
	default:
		return nil, fmt.Errorf("aggregate state version %d, this build reads %d (and 2, 3)", s.Version, stateVersion)
	}
	if s.Seen == nil || s.Seen.Windows == nil {
		return nil, fmt.Errorf("aggregate state version %d without its seen set", s.Version)
	}
	s.Version, s.Plants = stateVersion, map[string]plantCounts{}
	for id, n := range legacy.PerPlant {
		row, i, ok := parsePlantID(id)
		if !ok || i > 100_000 {
			return nil, fmt.Errorf("aggregate state: plant id %q", id)
		}
		addPlant(s.Plants, row, i, int32(n))
	}
	if s.PerRow == nil {
		s.PerRow = map[string]int{}
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
		st = &blockState{Version: stateVersion, Seen: newSeen(), PerRow: map[string]int{}, Plants: map[string]plantCounts{}}
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
		st.PerRow, st.Plants = map[string]int{}, map[string]plantCounts{}
		ctx.SetValue(st)
		return
	}
	if !st.Seen.addObject(o) {
		p.Stats.Duplicates.Add(1)
		return
	}
	st.Units++
	st.PerRow[o.RowId]++
	if i, ok := p.plantOf(o); ok {
		addPlant(st.Plants, o.RowId, i, 1)
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

// plantID names a row's plant i (from 0) as the simulator and growers name
// them: ROW-P001 for the first plant of the row.
func plantID(row string, i int) string { return fmt.Sprintf("%s-P%03d", row, i+1) }

// plantOf is the index in its row of the plant an object hangs on.
func (p *Processor) plantOf(o *schema.CountedObject) (int, bool) {
	b, ok := p.cfg.Blocks[o.BlockId]
	if !ok || b.PlantSpacingM <= 0 || o.PositionM == nil {
		return 0, false
	}
	i := int(math.Floor(*o.PositionM / b.PlantSpacingM))
	if b.Plants > 0 {
		i = min(max(i, 0), b.Plants-1)
	}
	if i < 0 {
		return 0, false
	}
	return i, true
}

// parsePlantID splits ROW-P001 into the row and plant index 0.
func parsePlantID(id string) (row string, i int, ok bool) {
	k := strings.LastIndex(id, "-P")
	if k < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(id[k+2:])
	if err != nil || n < 1 {
		return "", 0, false
	}
	return id[:k], n - 1, true
}

func (p *Processor) estimate(block, field string, st *blockState) *schema.YieldEstimate {
	prof := p.cfg.Default
	var hand []crops.HandCount
	if b, ok := p.cfg.Blocks[block]; ok {
		prof, hand = b.Profile, b.HandCounts
	}
	counted := map[string]int{}
	for _, h := range hand {
		row, i, ok := parsePlantID(h.PlantID)
		if ok && i < len(st.Plants[row]) {
			counted[h.PlantID] = int(st.Plants[row][i])
		}
	}
	e := crops.EstimateYield(prof, st.Units, counted, hand)
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
