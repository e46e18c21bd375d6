package aggregate

import "testing"

func TestEstimateModel(t *testing.T) {
	for _, c := range []struct {
		units map[string]int
		want  string
		n     int
	}{
		{nil, "", 0},
		{map[string]int{"a@1+sha256:x": 5}, "a@1+sha256:x", 1},
		{map[string]int{"a@1+sha256:x": 5, "a@2+sha256:x": 1}, MixedModels, 2},
		{map[string]int{"mixed:a,b": 2}, MixedModels, 1},
	} {
		if got := modelOf(c.units); got != c.want {
			t.Errorf("modelOf(%v) = %q, want %q", c.units, got, c.want)
		}
		mu := modelUnits(c.units)
		if len(mu) != c.n {
			t.Errorf("modelUnits(%v): %d entries, want %d", c.units, len(mu), c.n)
		}
		for _, e := range mu {
			if uint64(c.units[e.ModelId]) != e.Units {
				t.Errorf("modelUnits: %s has %d, want %d", e.ModelId, e.Units, c.units[e.ModelId])
			}
		}
	}
}
