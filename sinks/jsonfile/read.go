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
	var err error
	switch typ {
	case "String":
		var v string
		err = json.Unmarshal(raw, &v)
		return v, err
	case "UInt8":
		var v uint8
		err = json.Unmarshal(raw, &v)
		return v, err
	case "UInt16":
		var v uint16
		err = json.Unmarshal(raw, &v)
		return v, err
	case "UInt32":
		var v uint32
		err = json.Unmarshal(raw, &v)
		return v, err
	case "UInt64":
		var v uint64
		err = json.Unmarshal(raw, &v)
		return v, err
	case "Int32":
		var v int32
		err = json.Unmarshal(raw, &v)
		return v, err
	case "Int64":
		var v int64
		err = json.Unmarshal(raw, &v)
		return v, err
	case "Float32":
		var v float32
		err = json.Unmarshal(raw, &v)
		return v, err
	case "Float64":
		var v float64
		err = json.Unmarshal(raw, &v)
		return v, err
	case "Nullable(Float64)":
		var v *float64
		err = json.Unmarshal(raw, &v)
		return v, err
	case "DateTime":
		var v int64
		err = json.Unmarshal(raw, &v)
		return time.Unix(v, 0).UTC(), err
	}
	return nil, fmt.Errorf("type %s is not supported", typ)
}
