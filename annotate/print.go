package annotate

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Print writes what `cropstream annotate` reports: frames, size, where they
// went and the count per class, then each line's crossings under the name
// it was given by (names[i] for Lines[i]).
func (s Summary) Print(w io.Writer, out string, names []string) {
	var parts []string
	for c, n := range s.Counted {
		parts = append(parts, fmt.Sprintf("%s %d", c, n))
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		parts = []string{"nothing"}
	}
	fmt.Fprintf(w, "annotated %d frames (%dx%d) to %s; counted %s\n", s.Frames, s.Width, s.Height, out, strings.Join(parts, ", "))
	for i, l := range s.Lines {
		fmt.Fprintf(w, "line %s: in %v, out %v\n", names[i], l.In, l.Out)
	}
}
