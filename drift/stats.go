package drift

import (
	"math"
	"slices"
	"sort"
)

// KS is the two-sample Kolmogorov-Smirnov statistic of sorted samples a and
// b: the largest gap between their empirical distribution functions, 0 (the
// same) to 1 (disjoint). NaN when either is empty.
func KS(a, b []float64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return math.NaN()
	}
	var i, j int
	var d float64
	for i < len(a) && j < len(b) {
		// Step past every copy of the smaller value in both samples, so
		// ties (boxes per frame is a count) do not open a false gap.
		v := min(a[i], b[j])
		for i < len(a) && a[i] == v {
			i++
		}
		for j < len(b) && b[j] == v {
			j++
		}
		d = max(d, math.Abs(float64(i)/float64(len(a))-float64(j)/float64(len(b))))
	}
	return d
}

// psiBins is the number of bins PSI cuts the reference into.
const psiBins = 10

// psiFloor keeps an empty bin from making the index infinite.
const psiFloor = 1e-4

// PSI is the population stability index of sorted sample cur against sorted
// reference ref, over bins cut at the reference's deciles. Below 0.1 is
// usually read as stable, above 0.25 as a shift. NaN when either is empty.
func PSI(ref, cur []float64) float64 {
	if len(ref) == 0 || len(cur) == 0 {
		return math.NaN()
	}
	var edges []float64
	for k := 1; k < psiBins; k++ {
		e := ref[k*len(ref)/psiBins]
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	share := func(s []float64) []float64 {
		out := make([]float64, len(edges)+1)
		prev := 0
		for k, e := range edges {
			n := sort.SearchFloat64s(s, e) // values below e
			out[k] = float64(n-prev) / float64(len(s))
			prev = n
		}
		out[len(edges)] = float64(len(s)-prev) / float64(len(s))
		return out
	}
	e, a := share(ref), share(cur)
	var psi float64
	for k := range e {
		ek, ak := max(e[k], psiFloor), max(a[k], psiFloor)
		psi += (ak - ek) * math.Log(ak/ek)
	}
	return psi
}

// sorted returns a sorted copy.
func sorted(v []float64) []float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s
}
