package evaluation

import "math"

// edge is a positive score between row r and column c of a sparse matrix.
type edge struct {
	r, c int
	v    float64
}

// maxAssign pairs rows with columns, each at most once, so that the summed
// score of the pairs is largest, and returns each row's column (-1: none).
// Only the given edges (positive scores) can pair; the rest of the matrix is
// zero. This is what TrackEval gets from scipy's linear_sum_assignment on the
// negated dense matrix followed by dropping pairs of score zero: the optimum
// splits over the connected components of the edges, and solving each
// component alone keeps the frame's 100-box matrices and a field's thousands
// of identities cheap. Among equally good assignments the one returned may
// differ from scipy's.
func maxAssign(rows, cols int, edges []edge) []int {
	out := make([]int, rows)
	for i := range out {
		out[i] = -1
	}
	if len(edges) == 0 {
		return out
	}
	// Union-find over rows (0..rows-1) and columns (rows..rows+cols-1).
	parent := make([]int, rows+cols)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, e := range edges {
		a, b := find(e.r), find(rows+e.c)
		if a != b {
			parent[a] = b
		}
	}
	comp := map[int][]edge{}
	var order []int
	for _, e := range edges {
		k := find(e.r)
		if _, ok := comp[k]; !ok {
			order = append(order, k)
		}
		comp[k] = append(comp[k], e)
	}
	for _, k := range order {
		es := comp[k]
		ri, ci := map[int]int{}, map[int]int{}
		var rs, cs []int
		for _, e := range es {
			if _, ok := ri[e.r]; !ok {
				ri[e.r] = len(rs)
				rs = append(rs, e.r)
			}
			if _, ok := ci[e.c]; !ok {
				ci[e.c] = len(cs)
				cs = append(cs, e.c)
			}
		}
		m := make([][]float64, len(rs))
		for i := range m {
			m[i] = make([]float64, len(cs))
		}
		for _, e := range es {
			m[ri[e.r]][ci[e.c]] += e.v
		}
		for i, j := range hungarianMax(m) {
			if j >= 0 && m[i][j] > 0 {
				out[rs[i]] = cs[j]
			}
		}
	}
	return out
}

// hungarianMax solves the dense assignment problem (maximise the sum) for an
// n x m matrix and returns each row's column (-1 when rows outnumber
// columns). Shortest augmenting paths with potentials, O(n²m).
func hungarianMax(a [][]float64) []int {
	n := len(a)
	if n == 0 {
		return nil
	}
	m := len(a[0])
	transposed := n > m
	if transposed {
		t := make([][]float64, m)
		for j := range t {
			t[j] = make([]float64, n)
			for i := range n {
				t[j][i] = a[i][j]
			}
		}
		a, n, m = t, m, n
	}
	// 1-based arrays as in the textbook formulation; cost = -score.
	u := make([]float64, n+1)
	v := make([]float64, m+1)
	p := make([]int, m+1) // p[j]: row assigned to column j
	way := make([]int, m+1)
	minv := make([]float64, m+1)
	used := make([]bool, m+1)
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		for j := range minv {
			minv[j] = math.Inf(1)
			used[j] = false
		}
		for {
			used[j0] = true
			i0, delta, j1 := p[j0], math.Inf(1), 0
			for j := 1; j <= m; j++ {
				if used[j] {
					continue
				}
				cur := -a[i0-1][j-1] - u[i0] - v[j]
				if cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= m; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	rowTo := make([]int, n)
	for i := range rowTo {
		rowTo[i] = -1
	}
	for j := 1; j <= m; j++ {
		if p[j] > 0 {
			rowTo[p[j]-1] = j - 1
		}
	}
	if !transposed {
		return rowTo
	}
	out := make([]int, m)
	for i := range out {
		out[i] = -1
	}
	for j, i := range rowTo {
		if i >= 0 {
			out[i] = j
		}
	}
	return out
}
