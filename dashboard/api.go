package dashboard

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"

	"github.com/lovoo/goka"

	"github.com/cropstream/cropstream/processors/aggregate"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/schema"
)

// The query API answers from the goka tables (docs/api.md): what the
// stages hold now, before the analytics sink's batches reach ClickHouse.
func (s *Server) api(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/fields", s.apiFields)
	mux.HandleFunc("GET /api/fields/{field}/blocks", s.apiFieldBlocks)
	mux.HandleFunc("GET /api/blocks/{block}", s.apiBlock)
	mux.HandleFunc("GET /api/cameras", s.apiCameras)
	mux.HandleFunc("GET /api/cameras/{camera}/tracks", s.apiTracks)
}

// BlockAnswer is /api/blocks/{block}.
type BlockAnswer struct {
	Block string `json:"block_id"`
	Field string `json:"field_id"`
	Crop  string `json:"crop"`
	// Counted is the running window's count, or the last closed window's
	// when no new one began (Final).
	Counted int        `json:"counted"`
	Final   bool       `json:"final"`
	Rows    []rowPanel `json:"rows"`
	// State is the table's entry as is (running window and last closed).
	State *aggregate.BlockView `json:"state"`
	// Estimate is the latest estimate computed from the table as the stage
	// computes it (provisional for a running window, else final).
	Estimate *EstimateAnswer `json:"estimate"`
}

// EstimateAnswer is a yield estimate in plain JSON.
type EstimateAnswer struct {
	Final             bool    `json:"final"`
	UnitsCounted      uint64  `json:"units_counted"`
	VisibilityFactor  float64 `json:"visibility_factor"`
	UnitsEstimated    float64 `json:"units_estimated"`
	YieldKg           float64 `json:"yield_kg"`
	YieldKgLow        float64 `json:"yield_kg_low"`
	YieldKgHigh       float64 `json:"yield_kg_high"`
	RowsDone          uint32  `json:"rows_done"`
	RowsTotal         uint32  `json:"rows_total"`
	SamplePlants      uint32  `json:"sample_plants"`
	WindowStartUnixNs int64   `json:"window_start_unix_ns"`
	WindowEndUnixNs   int64   `json:"window_end_unix_ns"`
}

// FieldBlockAnswer is one block of /api/fields/{field}/blocks.
type FieldBlockAnswer struct {
	Block string           `json:"block_id"`
	Field string           `json:"field_id"`
	Crop  string           `json:"crop"`
	Rows  []FieldRowAnswer `json:"rows"`
}

// FieldRowAnswer is a row of the field map.
type FieldRowAnswer struct {
	Row           string  `json:"row_id"`
	Plants        uint32  `json:"plants"`
	PlantSpacingM float64 `json:"plant_spacing_m"`
	StartM        float64 `json:"start_m"`
}

func (s *Server) attachedViews(w http.ResponseWriter) *attached {
	s.mu.Lock()
	a := s.src
	s.mu.Unlock()
	if a == nil {
		httpError(w, http.StatusServiceUnavailable, errors.New("no pipeline attached (it stopped)"))
	}
	return a
}

// entry is key's value in the table of the views pick names, or nil after
// answering why there is none: no pipeline attached, the table not ready,
// or no such key (404 with missing).
func (s *Server) entry(w http.ResponseWriter, pick func(*views) *goka.View, key, missing string) (*attached, []byte) {
	a := s.attachedViews(w)
	if a == nil {
		return nil, nil
	}
	raw, err := get(pick(a.views), key)
	if err != nil {
		httpError(w, statusOf(err), err)
		return nil, nil
	}
	if raw == nil {
		httpError(w, http.StatusNotFound, errors.New(missing))
		return nil, nil
	}
	return a, raw
}

// fieldMap is the field map's blocks, or nil after answering why not.
func (s *Server) fieldMap(w http.ResponseWriter) map[string]*schema.FieldBlock {
	a := s.attachedViews(w)
	if a == nil {
		return nil
	}
	fbs, err := fieldBlocks(a)
	if err != nil {
		httpError(w, statusOf(err), err)
		return nil
	}
	return fbs
}

func (s *Server) apiBlock(w http.ResponseWriter, r *http.Request) {
	block := r.PathValue("block")
	a, raw := s.entry(w, func(v *views) *goka.View { return v.aggregate }, block, "block "+block+" has no counts")
	if raw == nil {
		return
	}
	fbRaw, err := get(a.views.fields, block)
	if err != nil {
		httpError(w, statusOf(err), err)
		return
	}
	var fb *schema.FieldBlock
	if fbRaw != nil {
		if fb, err = schema.DecodeFieldBlock(fbRaw); err != nil {
			httpError(w, http.StatusInternalServerError, err)
			return
		}
	}
	p, bv, est, err := s.blockSummary(a, block, raw, fb)
	if err != nil {
		httpError(w, http.StatusInternalServerError, err)
		return
	}
	ans := BlockAnswer{Block: block, Field: p.Field, Crop: p.Crop, Counted: p.Counted, Final: p.Final, Rows: p.Rows, State: bv}
	if est != nil {
		ans.Estimate = &EstimateAnswer{Final: est.Final, UnitsCounted: est.UnitsCounted, VisibilityFactor: est.VisibilityFactor,
			UnitsEstimated: est.UnitsEstimated, YieldKg: est.YieldKg, YieldKgLow: est.YieldKgLow, YieldKgHigh: est.YieldKgHigh,
			RowsDone: est.RowsDone, RowsTotal: est.RowsTotal, SamplePlants: est.SamplePlants,
			WindowStartUnixNs: est.WindowStartUnixNs, WindowEndUnixNs: est.WindowEndUnixNs}
	}
	writeJSON(w, ans)
}

func (s *Server) apiTracks(w http.ResponseWriter, r *http.Request) {
	cam := r.PathValue("camera")
	_, raw := s.entry(w, func(v *views) *goka.View { return v.track }, cam, "camera "+cam+" has no tracker state")
	if raw == nil {
		return
	}
	v, err := track.DecodeState(raw, s.cfg.Track)
	if err != nil {
		httpError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, v)
}

func (s *Server) apiCameras(w http.ResponseWriter, _ *http.Request) {
	a := s.attachedViews(w)
	if a == nil {
		return
	}
	cams := []string{}
	if err := each(a.views.track, func(k string, _ []byte) { cams = append(cams, k) }); err != nil {
		httpError(w, statusOf(err), err)
		return
	}
	sort.Strings(cams)
	writeJSON(w, cams)
}

func (s *Server) apiFields(w http.ResponseWriter, _ *http.Request) {
	fbs := s.fieldMap(w)
	if fbs == nil {
		return
	}
	type fieldAnswer struct {
		Field  string   `json:"field_id"`
		Blocks []string `json:"blocks"`
	}
	byField := map[string][]string{}
	for b, fb := range fbs {
		byField[fb.GetFieldId()] = append(byField[fb.GetFieldId()], b)
	}
	out := []fieldAnswer{}
	for f, bs := range byField {
		sort.Strings(bs)
		out = append(out, fieldAnswer{f, bs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	writeJSON(w, out)
}

func (s *Server) apiFieldBlocks(w http.ResponseWriter, r *http.Request) {
	fbs := s.fieldMap(w)
	if fbs == nil {
		return
	}
	field := r.PathValue("field")
	out := []FieldBlockAnswer{}
	for b, fb := range fbs {
		if fb.GetFieldId() != field {
			continue
		}
		ans := FieldBlockAnswer{Block: b, Field: field, Crop: fb.GetCrop(), Rows: []FieldRowAnswer{}}
		for _, row := range fb.GetRows() {
			ans.Rows = append(ans.Rows, FieldRowAnswer{Row: row.GetRowId(), Plants: row.GetPlants(), PlantSpacingM: row.GetPlantSpacingM(), StartM: row.GetStartM()})
		}
		out = append(out, ans)
	}
	if len(out) == 0 {
		httpError(w, http.StatusNotFound, errors.New("field "+field+" has no blocks in the field map"))
		return
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Block < out[j].Block })
	writeJSON(w, out)
}

func statusOf(err error) int {
	if errors.Is(err, ErrNotReady) {
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func httpError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
