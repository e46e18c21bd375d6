package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/clickhouse"
	"github.com/cropstream/cropstream/sinks/clickhouse/chtest"
	"github.com/cropstream/cropstream/sinks/jsonfile"
	"github.com/cropstream/cropstream/sinks/sinktest"
)

// Files an older sink wrote may hold a row whose time ClickHouse's DateTime
// cannot hold: load stores every other row and names that one (before, the
// whole insert failed with "dateTime overflow").
func TestLoadRefusesTimesClickHouseCannotHold(t *testing.T) {
	dir := t.TempDir()
	files, err := jsonfile.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	frames := sinks.TableNamed("frames")
	if err := files.Prepare(ctx, []*sinks.Table{frames}); err != nil {
		t.Fatal(err)
	}
	row := func(id string, at time.Time, off int64) sinks.Row {
		return sinks.Row{id, "cam", "F", "B", "R", uint64(off), at, at.UnixNano(), (*float64)(nil), uint32(64), uint32(32),
			uint32(4), "test", int32(0), off}
	}
	good := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	if err := files.Insert(ctx, frames, sinktest.Block(t, frames, row("a", good, 1), row("bad", time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), 2), row("c", good, 3))); err != nil {
		t.Fatal(err)
	}
	st := chtest.Start(t).Open(t, "load2200")
	loaded, refused, err := loadFiles(ctx, st, dir)
	if err != nil || loaded["frames"] != 2 || len(refused) != 1 || !strings.Contains(refused[0], "line 2: frames: column captured_at is 2200-01-01T00:00:00Z") {
		t.Fatalf("load: %v loaded, refused %q, %v", loaded, refused, err)
	}
}

// Files written without ClickHouse load with one command, twice without
// duplicates; drop-before removes whole days.
func TestLoadFilesAndDropBefore(t *testing.T) {
	srv := chtest.Start(t)
	dir := t.TempDir()
	files, err := jsonfile.Open(filepath.Join(dir, "analytics"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tables := sinks.Tables()
	if err := files.Prepare(ctx, tables); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for i, r := range sinktest.Stream(5, 200) {
		for _, tb := range tables {
			if string(tb.Topic) != r.Topic {
				continue
			}
			rows, _ := tb.Rows(r.Value, int32(i%3), int64(i))
			if len(rows) > 0 {
				if err := files.Insert(ctx, tb, sinktest.Block(t, tb, rows...)); err != nil {
					t.Fatal(err)
				}
			}
			want[tb.Name] += len(rows)
		}
	}
	for i := 0; i < 2; i++ {
		if r := run(t, dir, "clickhouse", "load", "--clickhouse", srv.Addr(), "--analytics-dir", "analytics"); r.code != 0 {
			t.Fatalf("load: %s", r.stderr)
		}
	}
	st := srv.Open(t, "")
	all, _ := sinktest.Counts(t, st.Conn(), "cropstream")
	for name, n := range want {
		if all[name] != n {
			t.Errorf("%s: %d rows after loading twice, want %d", name, all[name], n)
		}
	}
	// The stream's frames straddle 2026-09-01 00:00 UTC: dropping days
	// before 09-01 removes the first half.
	if r := run(t, dir, "clickhouse", "drop-before", "--clickhouse", srv.Addr(), "--date", "2026-09-01"); r.code != 0 || !strings.Contains(r.stdout, "frames") {
		t.Fatalf("drop-before: %s%s", r.stdout, r.stderr)
	}
	var left uint64
	if err := st.Conn().QueryRow(ctx, "SELECT count() FROM cropstream.frames WHERE captured_at < toDateTime('2026-09-01 00:00:00', 'UTC')").Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d frames before the date remain (%v)", left, err)
	}
}

// loadFiles is what `clickhouse load` does: migrate, then copy the files'
// rows the store lacks.
func loadFiles(ctx context.Context, st *clickhouse.Store, dir string) (map[string]int, []string, error) {
	if _, err := st.Migrate(ctx); err != nil {
		return nil, nil, err
	}
	files, err := jsonfile.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	return files.CopyTo(ctx, st)
}
