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
			all, err := sinks.BlockOf(t, rows...)
			if err != nil {
				return out, refused, fmt.Errorf("load %s: %w", filepath.Base(p), err)
			}
			all.DeleteRows(func(i int) bool {
				if o, ok := have[all.Partition(i)]; ok && all.Offset(i) <= o {
					return true
				}
				// One row the store cannot hold (a time out of DateTime's
				// range) would fail the whole insert: named, and left out.
				if err := t.Check(all, i); err != nil {
					refused = append(refused, fmt.Sprintf("%s line %d: %v", p, i+1, err))
					return true
				}
				return false
			})
			// One insert per day, as the sink does.
			day := sinks.NewBlock(t)
			for i := 0; i < all.Len(); {
				j := i + 1
				for j < all.Len() && t.Day(all, j) == t.Day(all, i) {
					j++
				}
				day.Reset()
				day.AppendFrom(all, i, j)
				if err := dst.Insert(ctx, t, day); err != nil {
					return out, refused, err
				}
				out[t.Name] += j - i
				i = j
			}
		}
	}
	return out, refused, nil
}
