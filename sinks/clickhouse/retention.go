package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/cropstream/cropstream/sinks"
)

// Dropped is one partition removed by DropBefore.
type Dropped struct {
	Table     string
	Partition string
	Rows      uint64
}

// DropBefore drops every daily partition of the event tables older than
// day (retention without TTL, which ClickHouse 18.16 lacks). With dryRun it
// only lists them. Rollups keep their history: they are small.
func (s *Store) DropBefore(ctx context.Context, day time.Time, dryRun bool) ([]Dropped, error) {
	limit, _ := strconv.Atoi(day.UTC().Format("20060102"))
	var out []Dropped
	for _, t := range sinks.Tables() {
		rows, err := s.conn.Query(ctx, "SELECT partition, sum(rows) FROM system.parts WHERE database = ? AND table = ? AND active GROUP BY partition ORDER BY partition", s.cfg.Database, t.Name)
		if err != nil {
			return out, fmt.Errorf("clickhouse: partitions of %s: %w", t.Name, err)
		}
		var parts []Dropped
		for rows.Next() {
			var p string
			var n uint64
			if err := rows.Scan(&p, &n); err != nil {
				rows.Close()
				return out, fmt.Errorf("clickhouse: partitions of %s: %w", t.Name, err)
			}
			if v, err := strconv.Atoi(p); err == nil && v < limit {
				parts = append(parts, Dropped{t.Name, p, n})
			}
		}
		rows.Close()
		for _, p := range parts {
			if !dryRun {
				if err := s.conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s.%s DROP PARTITION %s", quote(s.cfg.Database), quote(t.Name), p.Partition)); err != nil {
					return out, fmt.Errorf("clickhouse: drop %s partition %s: %w", t.Name, p.Partition, err)
				}
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// Cutoff is the day DropBefore drops partitions before, as `clickhouse
// drop-before` takes it: date (YYYY-MM-DD, UTC) when given, else keepDays
// before now.
func Cutoff(date string, keepDays int, now time.Time) (time.Time, error) {
	switch {
	case date != "":
		d, err := time.Parse("2006-01-02", date)
		if err != nil {
			return time.Time{}, fmt.Errorf("--date: %w", err)
		}
		return d, nil
	case keepDays > 0:
		return now.UTC().AddDate(0, 0, -keepDays), nil
	}
	return time.Time{}, errors.New("--date YYYY-MM-DD or --keep-days N is required")
}

// WriteDropped prints what DropBefore dropped (or, with dryRun, would drop),
// one partition a line.
func WriteDropped(w io.Writer, dropped []Dropped, day time.Time, dryRun bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	verb := "dropped"
	if dryRun {
		verb = "would drop"
	}
	for _, d := range dropped {
		fmt.Fprintf(tw, "%s\t%s\tpartition %s\t%d rows\n", verb, d.Table, d.Partition, d.Rows)
	}
	tw.Flush()
	if len(dropped) == 0 {
		fmt.Fprintf(w, "nothing before %s\n", day.Format("2006-01-02"))
	}
}
