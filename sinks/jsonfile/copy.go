package jsonfile

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/cropstream/cropstream/sinks"
)

// CopyTo inserts into dst the rows of every table that dst does not hold
// yet: a row whose Kafka partition and offset dst already has is skipped,
// as the sink skips it, so copying twice stores each row once. It returns
// the rows inserted per table.
func (s *Store) CopyTo(ctx context.Context, dst sinks.Store) (map[string]int, error) {
	out := map[string]int{}
	for _, t := range sinks.Tables() {
		have, err := dst.Resume(ctx, t)
		if err != nil {
			return out, err
		}
		paths, err := s.Files(t)
		if err != nil {
			return out, err
		}
		for _, p := range paths {
			rows, err := ReadRows(p, t)
			if err != nil {
				return out, fmt.Errorf("load %s: %w", filepath.Base(p), err)
			}
			keep := rows[:0]
			pc, oc := len(t.Columns)-2, len(t.Columns)-1
			for _, r := range rows {
				if o, ok := have[r[pc].(int32)]; ok && r[oc].(int64) <= o {
					continue
				}
				keep = append(keep, r)
			}
			// One insert per day, as the sink does.
			for len(keep) > 0 {
				day := t.Day(keep[0])
				n := 0
				for n < len(keep) && t.Day(keep[n]) == day {
					n++
				}
				if err := dst.Insert(ctx, t, keep[:n]); err != nil {
					return out, err
				}
				out[t.Name] += n
				keep = keep[n:]
			}
		}
	}
	return out, nil
}
