package fieldrun

import (
	"fmt"
	"math"
	"slices"

	"github.com/cropstream/cropstream/crops"
	"github.com/cropstream/cropstream/evaluation"
	"github.com/cropstream/cropstream/fieldmap"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/simulator"
)

// FieldSample is one simulated field's camera counts per plant and its
// truth: enough to try any sample plan and estimator without rendering it
// again.
type FieldSample struct {
	Seed uint64
	Rows []crops.RowPlants
	// PlantIDs by row, in order along it.
	PlantIDs [][]string
	// Counted is the camera's count per plant; Total the block's (objects
	// the tracker could not place on a plant included).
	Counted map[string]int
	Total   int
	// Hand is what a grower's hand count of each plant would give: every
	// unit and their mean mass.
	Hand    map[string]crops.HandCount
	Visible int
	TrueKg  float64
}

// SimulateTruthField renders sc, runs the tracker on what a perfect
// detector gives (evaluation.TruthDetections: units at least
// simulator.VisibleThreshold visible) and places each counted object on its
// plant as the aggregate stage does (its position along the row against
// the field map). Truth-based detections make a sweep of many fields
// affordable on a small machine; the count they give is near the visible
// units, so what a sweep measures is the sampling, not the detector.
func SimulateTruthField(sc *simulator.Scenario, params track.Params) (*FieldSample, error) {
	ds, truth, err := evaluation.TruthField(sc, "coverage", simulator.VisibleThreshold)
	if err != nil {
		return nil, fmt.Errorf("simulate field seed %d: %w", sc.Seed, err)
	}
	fb := FieldBlock(sc)
	fs := &FieldSample{Seed: sc.Seed, Counted: map[string]int{}, Hand: map[string]crops.HandCount{},
		Visible: truth.Totals.VisibleUnits, TrueKg: truth.Totals.YieldKg}
	for _, r := range truth.Rows {
		fs.Rows = append(fs.Rows, crops.RowPlants{Row: r.RowID, Plants: len(r.Plants)})
		var ids []string
		for _, p := range r.Plants {
			ids = append(ids, p.PlantID)
			h := crops.HandCount{PlantID: p.PlantID, Count: p.Units}
			if p.Units > 0 {
				h.MeanMassG = p.YieldKg * 1000 / float64(p.Units)
			}
			fs.Hand[p.PlantID] = h
		}
		fs.PlantIDs = append(fs.PlantIDs, ids)
	}
	track.RunStream(params, track.FramesOf(ds), func(row string, counted []*track.Track) {
		for _, t := range counted {
			fs.Total++
			if i, ok := fieldmap.PlantIndex(fieldmap.RowOf(fb, row), t.PositionM); ok {
				fs.Counted[fieldmap.PlantID(row, i)]++
			}
		}
	})
	return fs, nil
}

// plants lists every plant id of the field, rows end to end.
func (fs *FieldSample) plants() []string {
	var out []string
	for _, r := range fs.PlantIDs {
		out = append(out, r...)
	}
	return out
}

// sample is the hand counts of n plants spread along the rows.
func (fs *FieldSample) sample(n int) []crops.HandCount {
	var out []crops.HandCount
	for _, rp := range crops.SpreadPlants(fs.Rows, n) {
		out = append(out, fs.Hand[fs.PlantIDs[rp[0]][rp[1]]])
	}
	return out
}

// EstimatorCoverage is how one estimator fared over the fields.
type EstimatorCoverage struct {
	Fields  int `json:"fields"`
	Covered int `json:"covered"`
	// Share of fields whose 95 % interval holds the true yield.
	Share float64 `json:"share"`
	// MedianHalfWidthPct is the median relative half-width of the interval.
	MedianHalfWidthPct float64 `json:"median_half_width_pct"`
	// RMSErrorPct is the root mean square of the yield error.
	RMSErrorPct float64 `json:"rms_error_pct"`
}

// PlanCheck is how a sample plan fared: the share of fields whose estimate
// with the planned plants fell within ±target of the truth.
type PlanCheck struct {
	TargetPct    float64 `json:"target_pct"`
	Fields       int     `json:"fields"`
	MinSamples   int     `json:"min_samples"`
	MaxSamples   int     `json:"max_samples"`
	Within       int     `json:"within"`
	Share        float64 `json:"share"`
	Unreachable  int     `json:"unreachable"`
	RMSErrorPct  float64 `json:"rms_error_pct"`
	MeanHalfWPct float64 `json:"mean_planned_half_width_pct"`
}

// CoverageReport sums a sweep of fields.
type CoverageReport struct {
	Crop    string `json:"crop"`
	Fields  int    `json:"fields"`
	Seeds   string `json:"seeds"`
	Plants  int    `json:"plants_per_field"`
	Samples int    `json:"samples"`
	// Detections says what the tracker ran on.
	Detections string `json:"detections"`
	// Ratio is the pipeline's estimator (crops.EstimateYield with the
	// block's plants: finite population corrected); RatioNoFPC the same
	// without the correction; Regression the regression estimator on every
	// plant's camera count.
	Ratio      EstimatorCoverage `json:"ratio"`
	RatioNoFPC EstimatorCoverage `json:"ratio_no_fpc"`
	Regression EstimatorCoverage `json:"regression"`
	// CountErrorPct is the camera count against the visible units, mean and
	// RMS over fields.
	CountErrorMeanPct float64 `json:"count_error_mean_pct"`
	// ResidualCV is the RMS over fields of the ratio's residual coefficient
	// of variation over every plant, and PriorVisibilityCV the same with
	// the spread of plant counts divided out (what a profile's
	// sampling.visibility_cv holds); Visibility the mean counted share.
	ResidualCV        float64    `json:"residual_cv"`
	PriorVisibilityCV float64    `json:"prior_visibility_cv"`
	Visibility        float64    `json:"visibility"`
	Plan              *PlanCheck `json:"plan,omitempty"`
	// PerField are the pipeline's ratio estimates, field by field.
	PerField []FieldOutcome `json:"per_field"`
}

// FieldOutcome is one field's ratio estimate against its truth.
type FieldOutcome struct {
	Seed         uint64  `json:"seed"`
	ErrorPct     float64 `json:"error_pct"`
	HalfWidthPct float64 `json:"half_width_pct"`
	Covered      bool    `json:"covered"`
	// Unplaced are counted objects the tracker could not place on a plant.
	Unplaced int `json:"unplaced"`
}

// Coverage scores the estimators on the fields with samples plants spread
// along the rows, and, with target > 0, checks the plan PlanSamples makes
// for ±target from the profile's prior.
func Coverage(p *crops.Profile, fields []*FieldSample, samples int, target float64) CoverageReport {
	rep := CoverageReport{Crop: p.Name, Fields: len(fields), Samples: samples, Detections: "truth (evaluation.TruthDetections) + tracker"}
	if len(fields) == 0 {
		return rep
	}
	rep.Seeds = fmt.Sprintf("%d-%d", fields[0].Seed, fields[len(fields)-1].Seed)
	rep.Plants = len(fields[0].plants())
	type acc struct {
		covered int
		hw, err []float64
	}
	var ratio, noFPC, reg acc
	add := func(a *acc, est, lo, hi, truth float64) {
		if lo <= truth && truth <= hi {
			a.covered++
		}
		a.hw = append(a.hw, (hi-lo)/2/est)
		a.err = append(a.err, (est-truth)/truth)
	}
	var cvs, priors, viss, cerr []float64
	var plan PlanCheck
	var planErr, planHW []float64
	plan.TargetPct, plan.MinSamples = 100*target, math.MaxInt
	for _, fs := range fields {
		N := len(fs.plants())
		hand := fs.sample(samples)
		counted := map[string]int{}
		for _, h := range hand {
			counted[h.PlantID] = fs.Counted[h.PlantID]
		}
		e := crops.EstimateYield(p, fs.Total, counted, hand, 0)
		add(&noFPC, e.YieldKg, e.YieldLowKg, e.YieldHighKg, fs.TrueKg)
		e = crops.EstimateYield(p, fs.Total, counted, hand, N)
		add(&ratio, e.YieldKg, e.YieldLowKg, e.YieldHighKg, fs.TrueKg)
		placed := 0
		for _, c := range fs.Counted {
			placed += c
		}
		rep.PerField = append(rep.PerField, FieldOutcome{Seed: fs.Seed, ErrorPct: 100 * (e.YieldKg - fs.TrueKg) / fs.TrueKg,
			HalfWidthPct: 100 * (e.YieldHighKg - e.YieldLowKg) / 2 / e.YieldKg, Covered: e.YieldLowKg <= fs.TrueKg && fs.TrueKg <= e.YieldHighKg,
			Unplaced: fs.Total - placed})
		if items, rel, df, ok := crops.RegressionYield(fs.Total, fs.Counted, hand, N); ok {
			// The same item mass and its error as the ratio estimate.
			kg := items * e.ItemMassG / 1000
			relMass := 0.0
			if e.ItemMassG > 0 {
				relMass = massRel(p, hand)
			}
			hw := crops.T95(df) * math.Sqrt(rel*rel+relMass*relMass)
			add(&reg, kg, kg*(1-hw), kg*(1+hw), fs.TrueKg)
		}
		cerr = append(cerr, float64(fs.Total-fs.Visible)/float64(max(1, fs.Visible)))
		cv, prior, vis := residualCV(fs)
		cvs, priors, viss = append(cvs, cv), append(priors, prior), append(viss, vis)

		if target > 0 {
			var counts []int
			for _, id := range fs.plants() {
				counts = append(counts, fs.Counted[id])
			}
			pl, err := crops.PlanSamples(p, crops.PlanInput{Counts: counts, Target: target})
			if err != nil {
				continue
			}
			plan.Fields++
			if !pl.Reached {
				plan.Unreachable++
			}
			plan.MinSamples, plan.MaxSamples = min(plan.MinSamples, pl.Samples), max(plan.MaxSamples, pl.Samples)
			ph := fs.sample(pl.Samples)
			pc := map[string]int{}
			for _, h := range ph {
				pc[h.PlantID] = fs.Counted[h.PlantID]
			}
			pe := crops.EstimateYield(p, fs.Total, pc, ph, N)
			rel := (pe.YieldKg - fs.TrueKg) / fs.TrueKg
			if math.Abs(rel) <= target {
				plan.Within++
			}
			planErr = append(planErr, rel)
			planHW = append(planHW, pl.HalfWidth)
		}
	}
	sum := func(a acc) EstimatorCoverage {
		n := len(a.err)
		c := EstimatorCoverage{Fields: n, Covered: a.covered}
		if n > 0 {
			c.Share = float64(a.covered) / float64(n)
			c.MedianHalfWidthPct = 100 * median(a.hw)
			c.RMSErrorPct = 100 * rms(a.err)
		}
		return c
	}
	rep.Ratio, rep.RatioNoFPC, rep.Regression = sum(ratio), sum(noFPC), sum(reg)
	rep.CountErrorMeanPct = 100 * mean(cerr)
	rep.ResidualCV, rep.PriorVisibilityCV, rep.Visibility = rms(cvs), rms(priors), mean(viss)
	if target > 0 && plan.Fields > 0 {
		plan.Share = float64(plan.Within) / float64(plan.Fields)
		plan.RMSErrorPct = 100 * rms(planErr)
		plan.MeanHalfWPct = 100 * mean(planHW)
		rep.Plan = &plan
	}
	return rep
}

// massRel is the relative error of the mean item mass the samples give.
func massRel(p *crops.Profile, hand []crops.HandCount) float64 {
	m := p.ItemMass()
	n := 0
	for _, h := range hand {
		n += h.Count
	}
	return m.SD / m.Mean / math.Sqrt(float64(max(1, n)))
}

// residualCV is, over every plant of the field, the ratio estimator's
// residual coefficient of variation, the same with the spread of the camera's
// plant counts divided out, and the counted share.
func residualCV(fs *FieldSample) (cv, prior, vis float64) {
	var sc, sh, sc2 float64
	ids := fs.plants()
	for _, id := range ids {
		c := float64(fs.Counted[id])
		sc += c
		sc2 += c * c
		sh += float64(fs.Hand[id].Count)
	}
	if sc == 0 || sh == 0 {
		return 0, 0, 0
	}
	v := sc / sh
	var ss float64
	for _, id := range ids {
		r := float64(fs.Counted[id]) - v*float64(fs.Hand[id].Count)
		ss += r * r
	}
	n := float64(len(ids))
	cv = math.Sqrt(ss/(n-1)) / (v * sh / n)
	return cv, cv / (math.Sqrt(sc2/n) / (sc / n)), v
}

func mean(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func rms(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := 0.0
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s / float64(len(x)))
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	c := slices.Clone(x)
	slices.Sort(c)
	n := len(c)
	return (c[(n-1)/2] + c[n/2]) / 2
}
