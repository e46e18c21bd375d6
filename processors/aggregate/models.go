package aggregate

import (
	"slices"
	"strings"

	"github.com/cropstream/cropstream/schema"
)

// MixedModels is an estimate's model id when its window holds units of more
// than one model: the estimate says so, and ModelUnits says how many each.
const MixedModels = "mixed"

// addModel counts one unit of model id (an object from a build before model
// ids counts under "").
func addModel(m map[string]int, id string) map[string]int {
	if m == nil {
		m = map[string]int{}
	}
	m[id]++
	return m
}

// modelOf is the one model a window's units came from, or MixedModels. An
// object whose own track was mixed ("mixed:a,b") makes the window mixed too.
func modelOf(m map[string]int) string {
	switch len(m) {
	case 0:
		return ""
	case 1:
		for id := range m {
			if strings.HasPrefix(id, "mixed:") {
				return MixedModels
			}
			return id
		}
	}
	return MixedModels
}

// modelUnits lists the units per model, by id.
func modelUnits(m map[string]int) []*schema.ModelUnits {
	out := make([]*schema.ModelUnits, 0, len(m))
	for id, n := range m {
		out = append(out, &schema.ModelUnits{ModelId: id, Units: uint64(n)})
	}
	slices.SortFunc(out, func(a, b *schema.ModelUnits) int { return strings.Compare(a.ModelId, b.ModelId) })
	return out
}
