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
func (s *Store) CopyTo(ctx context.Context, dst sinks.Store) (map[string]int, []string, error) {
	out := map[string]int{}
	var refused []string
	for _, t := range sinks.Tables() {
		have, err := dst.Resume(ctx, t)
		if err != nil {
			return out, refused, err
		}
		paths, err := s.Files(t)
		if err != nil {
			return out, refused, err
		}
		for _, p := range paths {
			rows, err := ReadRows(p, t)
			if err != nil {
				return out, refused, fmt.Errorf("load %s: %w", filepath.Base(p), err)
			}
			keep := rows[:0]
			pc, oc := len(t.Columns)-2, len(t.Columns)-1
			for i, r := range rows {
				if o, ok := have[r[pc].(int32)]; ok && r[oc].(int64) <= o {
					continue
				}
				// One row the store cannot hold (a time out of DateTime's
				// range) would fail the whole insert: named, and left out.
				if err := t.CheckRow(r); err != nil {
					refused = append(refused, fmt.Sprintf("%s line %d: %v", p, i+1, err))
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
					return out, refused, err
				}
				out[t.Name] += n
				keep = keep[n:]
			}
		}
	}
	return out, refused, nil
}
