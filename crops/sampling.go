package crops

import (
	"errors"
	"fmt"
	"math"
)

// Sampling is a crop profile's prior for planning hand counts before any
// plant of a block has been counted.
type Sampling struct {
	// VisibilityCV is the plant-to-plant coefficient of variation of the
	// share of a plant's items the camera counts. Measured by
	// `cropstream eval coverage` on seeds kept apart from the checks
	// (benchmarks/results.md says which).
	VisibilityCV float64 `yaml:"visibility_cv"`
	// Visibility is the typical counted share, used to turn camera counts
	// into items per plant for the mass term.
	Visibility float64 `yaml:"visibility"`
}

// PlanInput is what a sample plan is made from.
type PlanInput struct {
	// Counts are the camera's counts per plant of the block (every plant,
	// zero included); their spread tells how much plant size adds.
	Counts []int
	// Hand are hand counts already made and HandCounted the camera's counts
	// of those plants: from three plants on, their observed spread replaces
	// the profile's prior.
	Hand        []HandCount
	HandCounted map[string]int
	// Target is the relative half-width wanted at 95 % (0.05 for ±5 %).
	Target float64
}

// Plan says how many plants to hand count.
type Plan struct {
	Samples int `json:"samples"`
	// Plants is the number of plants in the block.
	Plants int `json:"plants"`
	// CV is the coefficient of variation of the ratio's residuals used
	// (observed or prior), Source says which.
	CV     float64 `json:"cv"`
	Source string  `json:"source"`
	// HalfWidth is the expected relative half-width of the 95 % interval
	// with Samples plants; Reached is false when even every plant leaves
	// it above the target (what remains is the item mass).
	HalfWidth float64 `json:"half_width"`
	Reached   bool    `json:"reached"`
}

// HalfWidth is the expected relative half-width of the ratio estimate's
// 95 % interval with n of N plants hand counted: Student t at n-1 degrees
// of freedom times the visibility term (with the finite population
// correction: counting every plant leaves no visibility error) and the
// item-mass term (itemsPerPlant items weighed per plant).
func HalfWidth(p *Profile, cv float64, n, N int, itemsPerPlant float64) float64 {
	if n < 2 {
		return math.Inf(1)
	}
	fpc := 1.0
	if N > 0 {
		fpc = max(0, 1-float64(n)/float64(N))
	}
	m := p.ItemMass()
	relMass := 0.0
	if itemsPerPlant > 0 {
		relMass = m.SD / m.Mean / math.Sqrt(float64(n)*itemsPerPlant)
	}
	return t95(n-1) * math.Sqrt(cv*cv*fpc/float64(n)+relMass*relMass)
}

// PlanSamples returns the fewest sample plants whose 95 % yield interval is
// expected within ±Target. Before three plants are hand counted the
// spread is the profile's prior, widened by how unevenly the camera's
// counts spread over the block's plants (a ratio's residuals grow with plant
// size); after, the residual spread observed on them.
func PlanSamples(p *Profile, in PlanInput) (Plan, error) {
	N := len(in.Counts)
	if N == 0 {
		return Plan{}, errors.New("plan: the block has no plants with counts")
	}
	if in.Target <= 0 || in.Target >= 1 {
		return Plan{}, fmt.Errorf("plan: target %v, want a share between 0 and 1", in.Target)
	}
	var sum, sum2 float64
	for _, c := range in.Counts {
		sum += float64(c)
		sum2 += float64(c) * float64(c)
	}
	meanC := sum / float64(N)
	if meanC <= 0 {
		return Plan{}, errors.New("plan: the block's plants have no counted items yet")
	}
	vis := p.Sampling.Visibility
	if vis <= 0 {
		vis = 1
	}
	itemsPerPlant := meanC / vis
	pl := Plan{Plants: N}
	if cv, v, ok := observedCV(in.Hand, in.HandCounted); ok {
		pl.CV, pl.Source = cv, fmt.Sprintf("hand counts of %d plants", len(in.Hand))
		itemsPerPlant = meanC / v
	} else {
		if p.Sampling.VisibilityCV <= 0 {
			return Plan{}, fmt.Errorf("plan: crop profile %s has no sampling prior and fewer than 3 plants are hand counted", p.Name)
		}
		pl.CV = p.Sampling.VisibilityCV * math.Sqrt(sum2/float64(N)) / meanC
		pl.Source = "crop profile prior"
	}
	for n := 2; n <= N; n++ {
		pl.Samples, pl.HalfWidth = n, HalfWidth(p, pl.CV, n, N, itemsPerPlant)
		if pl.HalfWidth <= in.Target {
			pl.Reached = true
			break
		}
	}
	return pl, nil
}

// observedCV is the coefficient of variation of the ratio estimator's
// residuals on the hand-counted plants, and their counted share.
func observedCV(hand []HandCount, counted map[string]int) (cv, vis float64, ok bool) {
	n := len(hand)
	if n < 3 {
		return 0, 0, false
	}
	var sc, sh float64
	for _, h := range hand {
		sc += float64(counted[h.PlantID])
		sh += float64(h.Count)
	}
	if sc == 0 || sh == 0 {
		return 0, 0, false
	}
	v := sc / sh
	var ss float64
	for _, h := range hand {
		r := float64(counted[h.PlantID]) - v*float64(h.Count)
		ss += r * r
	}
	return math.Sqrt(ss/float64(n-1)) / (v * sh / float64(n)), v, true
}

// RowPlants is a row and its number of plants.
type RowPlants struct {
	Row    string
	Plants int
}

// SpreadPlants picks n plants spread evenly along the rows, taken end to end
// in order: the middle plant of each of n equal stretches, so that every
// part of the block (row ends, headlands, the middle) is represented.
// It returns (row index, plant index) pairs.
func SpreadPlants(rows []RowPlants, n int) [][2]int {
	total := 0
	for _, r := range rows {
		total += r.Plants
	}
	n = min(n, total)
	out := make([][2]int, 0, n)
	for i := range n {
		k := (2*i + 1) * total / (2 * n)
		for ri, r := range rows {
			if k < r.Plants {
				out = append(out, [2]int{ri, k})
				break
			}
			k -= r.Plants
		}
	}
	return out
}

// RegressionYield is the regression estimate of the block's items: hand
// counts regressed on camera counts over the sample plants (h = a + b c),
// applied to every plant (N plants, camera total C). It returns the items
// and their relative standard error (finite population corrected), and
// false with fewer than 3 samples or no spread in their counts. A
// comparison for the ratio estimator: it uses the camera's count of every
// plant, not only their sum, but spends a degree of freedom on the
// intercept.
func RegressionYield(total int, counted map[string]int, hand []HandCount, N int) (items, relSE float64, df int, ok bool) {
	n := len(hand)
	if n < 3 || N < n {
		return 0, 0, 0, false
	}
	var mc, mh float64
	for _, h := range hand {
		mc += float64(counted[h.PlantID])
		mh += float64(h.Count)
	}
	mc /= float64(n)
	mh /= float64(n)
	var sxx, sxy float64
	for _, h := range hand {
		dx := float64(counted[h.PlantID]) - mc
		sxx += dx * dx
		sxy += dx * (float64(h.Count) - mh)
	}
	if sxx == 0 {
		return 0, 0, 0, false
	}
	b := sxy / sxx
	meanCAll := float64(total) / float64(N)
	items = float64(N) * (mh + b*(meanCAll-mc))
	var se2 float64
	for _, h := range hand {
		e := float64(h.Count) - mh - b*(float64(counted[h.PlantID])-mc)
		se2 += e * e
	}
	se2 /= float64(n - 2)
	f := float64(n) / float64(N)
	v := float64(N) * float64(N) * (1 - f) / float64(n) * se2
	if items <= 0 {
		return 0, 0, 0, false
	}
	return items, math.Sqrt(v) / items, n - 2, true
}

// T95 is the two-sided 95 % Student t quantile for df degrees of freedom.
func T95(df int) float64 { return t95(df) }
