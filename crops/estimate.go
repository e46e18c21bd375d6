package crops

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// HandCount is a grower's count of one sample plant: every item on it (both
// sides, hidden ones too) and, when weighed, the mean item mass.
type HandCount struct {
	PlantID   string
	Count     int
	MeanMassG float64 // 0 when not weighed
}

// ReadHandCountsFile is ReadHandCounts of a file.
func ReadHandCountsFile(path string) ([]HandCount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadHandCounts(f)
}

// ReadHandCounts reads a CSV with a header: plant_id,count[,mean_mass_g].
func ReadHandCounts(r io.Reader) ([]HandCount, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("hand counts: %w", err)
	}
	if len(rows) == 0 {
		return nil, errors.New("hand counts: empty file")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	pi, ok1 := col["plant_id"]
	ci, ok2 := col["count"]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("hand counts: header %v, want plant_id,count[,mean_mass_g]", rows[0])
	}
	mi, hasMass := col["mean_mass_g"]
	var out []HandCount
	for n, r := range rows[1:] {
		line := n + 2
		if len(r) <= max(pi, ci) {
			return nil, fmt.Errorf("hand counts line %d: %d fields", line, len(r))
		}
		c, err := strconv.Atoi(strings.TrimSpace(r[ci]))
		if err != nil || c < 0 {
			return nil, fmt.Errorf("hand counts line %d: count %q is not a count", line, r[ci])
		}
		h := HandCount{PlantID: strings.TrimSpace(r[pi]), Count: c}
		if hasMass && mi < len(r) && strings.TrimSpace(r[mi]) != "" {
			if h.MeanMassG, err = strconv.ParseFloat(strings.TrimSpace(r[mi]), 64); err != nil || h.MeanMassG <= 0 {
				return nil, fmt.Errorf("hand counts line %d: mean_mass_g %q", line, r[mi])
			}
		}
		out = append(out, h)
	}
	return out, nil
}

// Estimate is a block's yield with a 95 % interval.
type Estimate struct {
	Counted          int     `json:"counted"`
	Visibility       float64 `json:"visibility_factor"` // counted share of all items
	VisibilitySE     float64 `json:"visibility_se"`
	UnitsEstimated   float64 `json:"units_estimated"`
	ItemMassG        float64 `json:"item_mass_g"`
	YieldKg          float64 `json:"yield_kg"`
	YieldLowKg       float64 `json:"yield_low_kg"`
	YieldHighKg      float64 `json:"yield_high_kg"`
	Confidence       float64 `json:"confidence"`
	SamplePlants     int     `json:"sample_plants"`
	MassFromSamples  bool    `json:"mass_from_samples"`
	CalibrationError string  `json:"calibration_error,omitempty"`
}

// t95 is the two-sided 95 % Student t quantile for df degrees of freedom.
func t95(df int) float64 {
	table := []float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086}
	if df < 1 {
		return math.Inf(1)
	}
	if df <= len(table) {
		return table[df-1]
	}
	return 1.96 + 2.4/float64(df) // within 0.01 of the table above 20
}

// EstimateYield turns the count of a block of plants plants into
// kilograms. counted maps plant id to items counted on it. With hand counts,
// the visibility factor is the ratio estimator sum(counted)/sum(hand) over
// the sample plants, and its standard error carries into the interval;
// weighed samples replace the profile's item mass. One sample plant's ratio
// is as uncertain as the profile's plant-to-plant visibility_cv says.
// Without hand counts (or with none usable) the visibility is the
// profile's prior, which nothing on this block confirms: the estimate then
// has no confidence level (Confidence 0), and its range runs from every
// item counted (visibility 1) to half the prior's visibility.
//
// The visibility's standard error takes the finite population correction
// (1 - samples/plants): hand counting a large share of a small block leaves
// little of it unknown. With plants 0 (the block's size unknown) there is
// none, and the interval is wider than it needs to be, never narrower.
func EstimateYield(p *Profile, total int, counted map[string]int, hand []HandCount, plants int) Estimate {
	m := p.ItemMass()
	e := Estimate{Counted: total, Visibility: 1, ItemMassG: m.Mean, Confidence: 0.95}
	relMass := m.SD / m.Mean / math.Sqrt(math.Max(1, float64(total))) // error of the mean item mass
	var sumC, sumH float64
	var massSum float64
	var weighed int
	for _, h := range hand {
		sumC += float64(counted[h.PlantID])
		sumH += float64(h.Count)
		if h.MeanMassG > 0 {
			massSum += h.MeanMassG * float64(h.Count)
			weighed += h.Count
		}
	}
	n := len(hand)
	e.SamplePlants = n
	var relVis float64
	switch {
	case n == 0:
		e.CalibrationError = "no plant hand counted"
	case sumH == 0 || sumC == 0:
		e.CalibrationError = "sample plants have no counted or hand-counted items"
	default:
		v := sumC / sumH
		e.Visibility = v
		if n > 1 {
			mean := sumH / float64(n)
			var ss float64
			for _, h := range hand {
				r := float64(counted[h.PlantID]) - v*float64(h.Count)
				ss += r * r
			}
			fpc := 1.0
			if plants >= n {
				fpc = 1 - float64(n)/float64(plants)
			}
			e.VisibilitySE = math.Sqrt(fpc*ss/float64(n-1)/float64(n)) / mean
			relVis = e.VisibilitySE / v
		} else {
			relVis = p.Sampling.VisibilityCV
			e.VisibilitySE = relVis * v
		}
	}
	if weighed > 0 {
		e.ItemMassG = massSum / float64(weighed)
		e.MassFromSamples = true
		relMass = m.SD / m.Mean / math.Sqrt(float64(weighed))
	}
	uncalibrated := e.CalibrationError != ""
	if uncalibrated {
		if v := p.Sampling.Visibility; v > 0 {
			e.Visibility = v
		}
		e.Confidence = 0
		e.CalibrationError += fmt.Sprintf(": visibility is the %s profile's prior %.2f, not measured on this block; the range spans visibility %.2f-1 (hand count plants for a 95 %% interval: cropstream plan samples)", p.Name, e.Visibility, e.Visibility/2)
	}
	e.UnitsEstimated = float64(total) / e.Visibility
	e.YieldKg = e.UnitsEstimated * e.ItemMassG / 1000
	if uncalibrated {
		e.YieldLowKg = math.Max(0, e.YieldKg*e.Visibility*(1-1.96*relMass))
		e.YieldHighKg = e.YieldKg * 2 * (1 + 1.96*relMass)
		return e
	}
	q := 1.96
	if n > 1 {
		q = t95(n - 1)
	}
	rel := math.Sqrt(relVis*relVis+relMass*relMass) * q
	e.YieldLowKg = math.Max(0, e.YieldKg*(1-rel))
	e.YieldHighKg = e.YieldKg * (1 + rel)
	return e
}

// SortedPlants lists plant ids in order, for reports.
func SortedPlants(m map[string]int) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
