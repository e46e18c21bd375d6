package aggregate

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/fieldmap"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// Stage is the name dead letters from this stage carry.
const Stage = "aggregate"

// stateVersion of the block state: 2 kept seen objects as per-camera
// bitsets; 3 as windows of the latest ids; 4 counts plants in dense rows.
const stateVersion = 4

// Config configures the stage. What each block is (crop, rows, plants) and
// its hand counts arrive as data, through the fields and hand-counts topics.
type Config struct {
	// Default is the profile of blocks not in the field map. Default apple.
	Default *crops.Profile
	// ProvisionalEvery is how often, at most, a block with a pass running
	// emits a provisional estimate (final = false) as objects arrive.
	// Default 10 s; negative emits none but those at a pass's end.
	ProvisionalEvery time.Duration
}

// DefaultProvisionalEvery is Config.ProvisionalEvery's default: a dashboard
// refreshing every few seconds sees a block's estimate move while the tractor
// drives, without an estimate per object.
const DefaultProvisionalEvery = 10 * time.Second

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
	FieldID     string
	// Passes are the row passes running, by camera and row (passKey).
	Passes map[string]bool
	// RowsDone are the rows whose pass ended in this window.
	RowsDone map[string]bool
	// Hand are the hand counts in force (the latest hand-counts record).
	Hand []crops.HandCount
	// ProvisionalNs is when (this stage's clock) the last provisional
	// estimate was emitted.
	ProvisionalNs int64
	// Last is the window closed last, re-estimated when hand counts arrive
	// after it closed.
	Last *closedWindow
	// Models counts the window's units per model id (see models.go).
	Models map[string]int
}

// closedWindow is what a final estimate was made of.
type closedWindow struct {
	Units       int
	Plants      map[string]plantCounts
	WindowStart int64
	WindowEnd   int64
	RowsDone    int
	Models      map[string]int
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
	s, err := decodeState(b)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// decodeState reads a table value in any encoding the stage reads.
func decodeState(b []byte) (*blockState, error) {
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
	s.init()
	return &s, nil
}

// init makes the maps gob and the first object leave nil.
func (s *blockState) init() {
	if s.Seen == nil {
		s.Seen = newSeen()
	}
	if s.PerRow == nil {
		s.PerRow = map[string]int{}
	}
	if s.Plants == nil {
		s.Plants = map[string]plantCounts{}
	}
	if s.Passes == nil {
		s.Passes = map[string]bool{}
	}
	if s.RowsDone == nil {
		s.RowsDone = map[string]bool{}
	}
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
	s.init()
	return &s, nil
}

// Stats are the stage's counters.
type Stats struct {
	Objects, Duplicates, Estimates, DeadLetters atomic.Int64
	// Finals counts final estimates; PassesEnded the row passes ended.
	Finals, PassesEnded atomic.Int64
}

// Processor is the aggregate stage.
type Processor struct {
	cfg   Config
	conn  *broker.Conn
	Stats Stats

	profiles crops.Profiles
	fields   *fieldmap.Table
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
	if cfg.ProvisionalEvery == 0 {
		cfg.ProvisionalEvery = DefaultProvisionalEvery
	}
	return &Processor{cfg: cfg, conn: conn, fields: fieldmap.NewTable()}, nil
}

// Graph is the stage's goka group graph.
func (p *Processor) Graph() *goka.GroupGraph {
	return goka.DefineGroup(goka.Group(topology.Aggregate),
		goka.Input(goka.Stream(topology.Objects), new(codec.Bytes), p.process),
		goka.Input(goka.Stream(topology.HandCounts), new(codec.Bytes), p.handCounts),
		goka.Persist(stateCodec{}),
		goka.Output(goka.Stream(topology.Yield), new(codec.Bytes)),
		goka.Output(goka.Stream(topology.DLQ), new(codec.Bytes)),
	)
}

// Run processes until ctx is cancelled, once the field map is read (the
// first objects close windows by its rows).
func (p *Processor) Run(ctx context.Context) error {
	return p.fields.Serve(ctx, p.conn, func(ctx context.Context) error { return p.conn.RunProcessor(ctx, Stage, p.Graph()) })
}

func (p *Processor) process(ctx goka.Context, msg any) {
	raw, _ := msg.([]byte)
	o, err := schema.DecodeCountedObject(raw)
	if err == nil {
		err = p.ownsKey(ctx)
	}
	if err != nil {
		p.deadLetter(ctx, raw, err)
		return
	}
	st := state(ctx)
	if st.FieldID == "" {
		st.FieldID = o.FieldId
	}
	fb := p.fields.Get(o.BlockId)
	if o.Control != "" && o.SourceOffset != nil && !st.Seen.addObject(o) {
		// A pass control sent again (a replayed frame): applied once, by its
		// place, as objects are.
		p.Stats.Duplicates.Add(1)
		return
	}
	switch o.Control {
	case schema.ControlPassStart:
		st.Passes[passKey(o)] = true
		if st.WindowStart == 0 || (o.LastSeenUnixNs > 0 && o.LastSeenUnixNs < st.WindowStart) {
			st.WindowStart = o.LastSeenUnixNs
		}
	case schema.ControlPassEnd:
		delete(st.Passes, passKey(o))
		st.RowsDone[o.RowId] = true
		st.WindowEnd = max(st.WindowEnd, o.LastSeenUnixNs)
		p.Stats.PassesEnded.Add(1)
		if p.complete(st, fb) {
			p.final(ctx, o.BlockId, st, fb, "all-rows")
		} else {
			p.emit(ctx, o.BlockId, st, fb, "pass-end")
		}
	case schema.ControlCloseWindow:
		if st.Units == 0 && len(st.RowsDone) == 0 && len(st.Passes) == 0 {
			slog.Info("aggregate: close of a block with nothing counted in its window: no estimate", "block", o.BlockId)
			break
		}
		p.final(ctx, o.BlockId, st, fb, "operator")
	default:
		if !p.count(st, o, fb) {
			return
		}
		if p.cfg.ProvisionalEvery > 0 && len(st.Passes) > 0 && time.Now().UnixNano()-st.ProvisionalNs >= p.cfg.ProvisionalEvery.Nanoseconds() {
			p.emit(ctx, o.BlockId, st, fb, "provisional")
		}
	}
	ctx.SetValue(st)
}

func passKey(o *schema.CountedObject) string { return o.CameraId + "/" + o.RowId }

// handCounts takes a block's hand counts in force and re-estimates with
// them: the running window provisionally, else the last closed one.
func (p *Processor) handCounts(ctx goka.Context, msg any) {
	raw, _ := msg.([]byte)
	h, err := schema.DecodeHandCounts(raw)
	if err == nil {
		err = p.ownsKey(ctx)
	}
	if err == nil && h.BlockId != ctx.Key() {
		err = fmt.Errorf("hand counts of block %s under key %q", h.BlockId, ctx.Key())
	}
	if err != nil {
		p.deadLetter(ctx, raw, err)
		return
	}
	st := state(ctx)
	st.Hand = fieldmap.Crops(h)
	if st.FieldID == "" {
		st.FieldID = h.FieldId
	}
	fb := p.fields.Get(h.BlockId)
	switch {
	case st.Units > 0:
		p.emit(ctx, h.BlockId, st, fb, "hand-counts")
	case st.Last != nil:
		y := p.estimate(h.BlockId, st, fb, *st.Last, "hand-counts")
		y.Final = true
		p.send(ctx, h.BlockId, y)
	}
	ctx.SetValue(st)
}

func state(ctx goka.Context) *blockState {
	st, _ := ctx.Value().(*blockState)
	if st == nil {
		st = &blockState{Version: stateVersion}
	}
	st.init()
	return st
}

// count adds an object to the window; false for a replayed one.
func (p *Processor) count(st *blockState, o *schema.CountedObject, fb *schema.FieldBlock) bool {
	if !st.Seen.addObject(o) {
		p.Stats.Duplicates.Add(1)
		return false
	}
	st.Units++
	st.Models = addModel(st.Models, o.ModelId)
	st.PerRow[o.RowId]++
	if row, i, ok := plantOf(o, fb); ok {
		addPlant(st.Plants, row, i, 1)
	} else {
		st.Unplaced++
	}
	if st.WindowStart == 0 || o.FirstSeenUnixNs < st.WindowStart {
		st.WindowStart = o.FirstSeenUnixNs
	}
	st.WindowEnd = max(st.WindowEnd, o.LastSeenUnixNs)
	p.Stats.Objects.Add(1)
	return true
}

// complete says whether the window can close by itself: no pass is running
// and every row of the block's field map has been passed (without a field
// map, any row).
func (p *Processor) complete(st *blockState, fb *schema.FieldBlock) bool {
	if len(st.Passes) > 0 {
		return false
	}
	if fb == nil {
		return len(st.RowsDone) > 0
	}
	for _, r := range fb.GetRows() {
		if !st.RowsDone[r.GetRowId()] {
			return false
		}
	}
	return true
}

// final emits the window's final estimate and starts the next window. Seen
// stays, so replays stay skipped.
func (p *Processor) final(ctx goka.Context, block string, st *blockState, fb *schema.FieldBlock, trigger string) {
	w := st.window()
	y := p.estimate(block, st, fb, w, trigger)
	y.Final = true
	p.send(ctx, block, y)
	p.Stats.Finals.Add(1)
	st.Last = &w
	st.Units, st.Unplaced, st.WindowStart, st.WindowEnd = 0, 0, 0, 0
	st.Models = nil
	st.PerRow, st.Plants, st.RowsDone = map[string]int{}, map[string]plantCounts{}, map[string]bool{}
}

// emit sends a provisional estimate of the running window.
func (p *Processor) emit(ctx goka.Context, block string, st *blockState, fb *schema.FieldBlock, trigger string) {
	y := p.estimate(block, st, fb, st.window(), trigger)
	// One provisional estimate per count and trigger: a replay makes the same id.
	y.EstimateId = fmt.Sprintf("%s-u%d-%s", y.EstimateId, st.Units, trigger)
	p.send(ctx, block, y)
	st.ProvisionalNs = time.Now().UnixNano()
}

func (p *Processor) send(ctx goka.Context, block string, y *schema.YieldEstimate) {
	val, err := schema.Encode(y)
	if err != nil {
		p.deadLetter(ctx, nil, fmt.Errorf("estimate of block %s: %w", block, err))
		return
	}
	ctx.Emit(goka.Stream(topology.Yield), block, val)
	p.Stats.Estimates.Add(1)
}

func (st *blockState) window() closedWindow {
	return closedWindow{Units: st.Units, Plants: st.Plants, WindowStart: st.WindowStart, WindowEnd: st.WindowEnd, RowsDone: len(st.RowsDone), Models: st.Models}
}

// ownsKey refuses a record on a partition its key does not hash to: its
// block's state lives on another partition, so applying it here would
// answer for an empty block (a 0 kg final from a control sent with another
// client's default partitioner).
func (p *Processor) ownsKey(ctx goka.Context) error {
	n := p.conn.Topology().Topic(topology.Topic(ctx.Topic())).Partitions
	if want := broker.PartitionOf([]byte(ctx.Key()), n); want != ctx.Partition() {
		return fmt.Errorf("key %q arrived on partition %d of %s but hashes to partition %d: produce with cropstream's partitioner (FNV-1a, sarama-compatible; see docs/producers.md)",
			ctx.Key(), ctx.Partition(), ctx.Topic(), want)
	}
	return nil
}

// profile is the block's crop profile, or the stage's default.
func (p *Processor) profile(fb *schema.FieldBlock) *crops.Profile {
	if fb == nil {
		return p.cfg.Default
	}
	prof, _ := p.profiles.Get(fb.GetCrop(), func(err error) (*crops.Profile, error) {
		slog.Warn("aggregate: crop profile of the field map does not load; counting with the default", "block", fb.GetBlockId(), "err", err)
		return p.cfg.Default, nil
	})
	return prof
}

// plantOf is the row and index in it of the plant an object hangs on: the
// track stage's plant_id, else its position against the field map.
func plantOf(o *schema.CountedObject, fb *schema.FieldBlock) (string, int, bool) {
	if o.PlantId != "" {
		return parsePlantID(o.PlantId)
	}
	if fb == nil {
		return "", 0, false
	}
	i, ok := fieldmap.PlantIndex(fieldmap.RowOf(fb, o.RowId), o.PositionM)
	return o.RowId, i, ok
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

func (p *Processor) estimate(block string, st *blockState, fb *schema.FieldBlock, w closedWindow, trigger string) *schema.YieldEstimate {
	prof := p.profile(fb)
	counted := map[string]int{}
	for _, h := range st.Hand {
		row, i, ok := parsePlantID(h.PlantID)
		if ok && i < len(w.Plants[row]) {
			counted[h.PlantID] = int(w.Plants[row][i])
		}
	}
	plants := 0 // an unmapped block's size is unknown: no correction
	for _, r := range fb.GetRows() {
		plants += int(r.GetPlants())
	}
	e := crops.EstimateYield(prof, w.Units, counted, st.Hand, plants)
	field := st.FieldID
	if fb != nil {
		field = fb.GetFieldId()
	}
	return &schema.YieldEstimate{
		EstimateId: fmt.Sprintf("%s-%d", block, w.WindowStart), FieldId: field, BlockId: block, Crop: prof.Name,
		WindowStartUnixNs: w.WindowStart, WindowEndUnixNs: w.WindowEnd, UnitsCounted: uint64(w.Units),
		VisibilityFactor: e.Visibility, UnitsEstimated: e.UnitsEstimated, YieldKg: e.YieldKg,
		YieldKgLow: e.YieldLowKg, YieldKgHigh: e.YieldHighKg, Confidence: e.Confidence, EmittedUnixNs: time.Now().UnixNano(),
		RowsDone: uint32(w.RowsDone), RowsTotal: uint32(len(fb.GetRows())), Trigger: trigger, SamplePlants: uint32(len(st.Hand)),
		ModelId: modelOf(w.Models), ModelUnits: modelUnits(w.Models),
	}
}

func (p *Processor) deadLetter(ctx goka.Context, raw []byte, reason error) {
	p.Stats.DeadLetters.Add(1)
	p.conn.EmitDeadLetter(ctx, Stage, raw, reason)
}
