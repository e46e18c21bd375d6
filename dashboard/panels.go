package dashboard

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/processors/aggregate"
	"github.com/cropstream/cropstream/schema"
)

// blockPanel is a block's count and estimate as the page shows it.
type blockPanel struct {
	Block string `json:"block"`
	Field string `json:"field"`
	Crop  string `json:"crop"`
	// Counted is the running window's count, or, once it closed and no
	// new one began, the closed window's (Final).
	Counted  int            `json:"counted"`
	Final    bool           `json:"final"`
	Rows     []rowPanel     `json:"rows"`
	Unplaced int            `json:"unplaced"`
	Estimate *estimatePanel `json:"estimate,omitempty"`
}

type rowPanel struct {
	Row     string `json:"row"`
	Counted int    `json:"counted"`
	Plants  []int  `json:"plants"`
	Done    bool   `json:"done"`
}

type estimatePanel struct {
	Final     bool    `json:"final"`
	YieldKg   float64 `json:"yield_kg"`
	LowKg     float64 `json:"low_kg"`
	HighKg    float64 `json:"high_kg"`
	Units     uint64  `json:"units"`
	RowsDone  uint32  `json:"rows_done"`
	RowsTotal uint32  `json:"rows_total"`
	Trigger   string  `json:"trigger"`
	// From says where it was read: "yield" (the estimate the aggregate
	// stage emitted) or "table" (computed again from its table).
	From string `json:"from"`
}

// blockSummary is a block's state read from the tables: the panel and what
// it was made of.
func (s *Server) blockSummary(a *attached, block string, raw []byte, fb *schema.FieldBlock) (blockPanel, *aggregate.BlockView, *schema.YieldEstimate, error) {
	bv, err := aggregate.DecodeState(raw)
	if err != nil {
		return blockPanel{}, nil, nil, err
	}
	p := blockPanel{Block: block, Field: bv.FieldID, Unplaced: bv.Unplaced}
	if fb != nil {
		p.Field, p.Crop = fb.GetFieldId(), fb.GetCrop()
	}
	running := bv.Units > 0 || len(bv.PassesRunning) > 0
	var rows []string
	if fb != nil {
		for _, r := range fb.GetRows() {
			rows = append(rows, r.GetRowId())
		}
	}
	count := func(plants map[string][]int, perRow map[string]int, row string) int {
		if perRow != nil {
			return perRow[row]
		}
		n := 0
		for _, c := range plants[row] {
			n += c
		}
		return n
	}
	plants, perRow := bv.Plants, bv.PerRow
	done := map[string]bool{}
	for _, r := range bv.RowsDone {
		done[r] = true
	}
	switch {
	case running:
		p.Counted = bv.Units
	case bv.Last != nil:
		p.Counted, p.Final, plants, perRow = bv.Last.Units, true, bv.Last.Plants, nil
		for _, r := range rows {
			done[r] = true
		}
	}
	if len(rows) == 0 {
		rows = slices.Sorted(maps.Keys(plants))
		for r := range perRow {
			if !slices.Contains(rows, r) {
				rows = append(rows, r)
			}
		}
		sort.Strings(rows)
	}
	for _, r := range rows {
		p.Rows = append(p.Rows, rowPanel{Row: r, Counted: count(plants, perRow, r), Plants: plants[r], Done: done[r]})
	}
	est, err := bv.Estimate(block, fb, s.cfg.Default)
	if err != nil {
		return blockPanel{}, nil, nil, err
	}
	if est != nil {
		p.Crop = est.Crop
		p.Estimate = panelOf(est, "table")
	}
	s.mu.Lock()
	y := s.yields[block]
	s.mu.Unlock()
	// The estimate emitted last, unless the table has moved on since (a new
	// window began after a final one).
	if y != nil && (est == nil || y.WindowStartUnixNs == est.WindowStartUnixNs) {
		p.Estimate = panelOf(y, "yield")
	}
	return p, bv, est, nil
}

func panelOf(y *schema.YieldEstimate, from string) *estimatePanel {
	return &estimatePanel{Final: y.Final, YieldKg: y.YieldKg, LowKg: y.YieldKgLow, HighKg: y.YieldKgHigh, Units: y.UnitsCounted,
		RowsDone: y.RowsDone, RowsTotal: y.RowsTotal, Trigger: y.Trigger, From: from}
}

// fieldBlocks reads the field map.
func fieldBlocks(a *attached) (map[string]*schema.FieldBlock, error) {
	out := map[string]*schema.FieldBlock{}
	err := each(a.views.fields, func(key string, v []byte) {
		if fb, err := schema.DecodeFieldBlock(v); err == nil {
			out[key] = fb
		}
	})
	return out, err
}

func (s *Server) publishBlocks(a *attached) {
	fbs, err := fieldBlocks(a)
	if err != nil {
		return
	}
	var ps []blockPanel
	err = each(a.views.aggregate, func(block string, raw []byte) {
		if p, _, _, err := s.blockSummary(a, block, raw, fbs[block]); err == nil {
			ps = append(ps, p)
		}
	})
	if err != nil {
		return
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Field+"/"+ps[i].Block < ps[j].Field+"/"+ps[j].Block })
	if ps == nil {
		ps = []blockPanel{}
	}
	if data, err := json.Marshal(ps); err == nil {
		s.hub.publish("blocks", "blocks", data)
	}
}

// stagePanel is a stage's throughput and failures.
type stagePanel struct {
	Stage       string  `json:"stage"`
	Records     int64   `json:"records"`
	PerS        float64 `json:"per_s"`
	DeadLetters int64   `json:"dead_letters"`
}

type stagesPanel struct {
	Stages []stagePanel     `json:"stages"`
	Lag    map[string]int64 `json:"lag"`
	LagErr string           `json:"lag_error,omitempty"`
	At     time.Time        `json:"at"`
}

// rates remembers the previous counters, and the lag (queried every few
// seconds: it asks the group coordinator).
type rates struct {
	at    time.Time
	prev  map[string]int64
	lagAt time.Time
	lag   map[string]int64
	err   error
}

// counter is a stage's running count of records and dead letters.
type counter struct {
	name    string
	n, dead int64
}

func counters(a *attached) []counter {
	var cs []counter
	if a.Ingested != nil {
		cs = append(cs, counter{"ingest", a.Ingested.Load(), 0})
	}
	if pl := a.Pipeline; pl != nil {
		if pl.Detect != nil {
			cs = append(cs, counter{"detect", pl.Detect.Stats.Frames.Load(), pl.Detect.Stats.DeadLetters.Load()})
		}
		if pl.Track != nil {
			cs = append(cs, counter{"track", pl.Track.Stats.Frames.Load(), pl.Track.Stats.DeadLetters.Load()})
		}
		if pl.Aggregate != nil {
			cs = append(cs, counter{"aggregate", pl.Aggregate.Stats.Objects.Load(), pl.Aggregate.Stats.DeadLetters.Load()})
		}
		if pl.Sink != nil {
			cs = append(cs, counter{"sink", pl.Sink.Stats.Rows.Load(), pl.Sink.Stats.DeadLetters.Load()})
		}
	}
	return cs
}

func (s *Server) publishStages(a *attached, r *rates) {
	now := time.Now()
	cs := counters(a)
	p := stagesPanel{Stages: []stagePanel{}, At: now}
	cur := map[string]int64{}
	for _, c := range cs {
		sp := stagePanel{Stage: c.name, Records: c.n, DeadLetters: c.dead}
		if prev, ok := r.prev[c.name]; ok && now.After(r.at) {
			sp.PerS = float64(c.n-prev) / now.Sub(r.at).Seconds()
		}
		cur[c.name] = c.n
		p.Stages = append(p.Stages, sp)
	}
	r.at, r.prev = now, cur
	if now.Sub(r.lagAt) > 3*time.Second {
		r.lagAt = now
		r.lag, r.err = groupLag(a.Conn)
	}
	p.Lag = r.lag
	if r.err != nil {
		p.LagErr = r.err.Error()
	}
	if data, err := json.Marshal(p); err == nil {
		s.hub.publish("stages", "stages", data)
	}
}

func groupLag(conn *broker.Conn) (map[string]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	adm, cl, err := conn.Admin()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	rows, err := broker.GroupLag(ctx, adm)
	if err != nil {
		return nil, err
	}
	return broker.TotalLag(rows), nil
}
