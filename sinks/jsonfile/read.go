package jsonfile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"

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
			v, err := decodeValue(c.Type, raw)
			if err != nil {
				return nil, fmt.Errorf("line %d: column %s: %w", line, c.Name, err)
			}
			r[i] = v
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

func decodeValue(typ string, raw json.RawMessage) (any, error) {
	switch typ {
	case "String":
		return decodeAs[string](raw)
	case "UInt8":
		return decodeAs[uint8](raw)
	case "UInt16":
		return decodeAs[uint16](raw)
	case "UInt32":
		return decodeAs[uint32](raw)
	case "UInt64":
		return decodeAs[uint64](raw)
	case "Int32":
		return decodeAs[int32](raw)
	case "Int64":
		return decodeAs[int64](raw)
	case "Float32":
		return decodeAs[float32](raw)
	case "Float64":
		return decodeAs[float64](raw)
	case "Nullable(Float64)":
		return decodeAs[*float64](raw)
	case "DateTime":
		var v int64
		err := json.Unmarshal(raw, &v)
		return time.Unix(v, 0).UTC(), err
	}
	return nil, fmt.Errorf("type %s is not supported", typ)
}

// decodeAs gives the value the Go type the sink's rows hold for the column,
// which is what the ClickHouse driver checks on insert.
func decodeAs[T any](raw json.RawMessage) (any, error) {
	var v T
	err := json.Unmarshal(raw, &v)
	return v, err
}
