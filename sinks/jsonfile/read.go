package jsonfile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/cropstream/cropstream/sinks"
)

// ReadRows reads a file the store wrote back into rows of t, typed as the
// sink makes them, so they can be inserted into ClickHouse.
func ReadRows(path string, t *sinks.Table) ([]sinks.Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var rows []sinks.Row
	for line := 1; sc.Scan(); line++ {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		r := make(sinks.Row, len(t.Columns))
		for i, c := range t.Columns {
			raw, ok := m[c.Name]
			if !ok {
				return nil, fmt.Errorf("line %d: no column %s", line, c.Name)
			}
			v, err := sinks.ValueOfJSON(c.Type, raw)
			if err != nil {
				return nil, fmt.Errorf("line %d: column %s: %w", line, c.Name, err)
			}
			r[i] = v
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}
