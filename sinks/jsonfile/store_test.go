package jsonfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/sinktest"
)

func TestInsertTornAppendResumeAndReadBack(t *testing.T) {
	objects := sinks.TableNamed("objects")
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	st.now = func() time.Time { return time.Date(2026, 9, 1, 8, 30, 0, 0, time.UTC) }
	ctx := context.Background()
	if err := st.Prepare(ctx, []*sinks.Table{objects}); err != nil {
		t.Fatal(err)
	}
	pos := 12.5
	row := func(id string, p int32, o int64, pos *float64) sinks.Row {
		return sinks.Row{id, "cam", "F", "B1", "R1", "", uint16(0), "apple", uint64(1), uint64(4),
			time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC), int64(1), int64(2), uint32(4), float32(0.5),
			float32(1), float32(2), float32(3), float32(4), pos, "m@1+sha256:aaaaaaaaaaaa", p, o}
	}
	in := []sinks.Row{row("a", 0, 5, &pos), row("b", 1, 9, nil), row(`c"quoted`, 0, 7, &pos)}
	if err := st.Insert(ctx, objects, sinktest.Block(t, objects, in...)); err != nil {
		t.Fatal(err)
	}
	// A crash mid-append leaves half a line behind the committed length.
	file := filepath.Join(dir, "objects", "20260901-08.json")
	f, _ := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"object_id":"torn","kafka_partition":0,"kafka_off`)
	f.Close()

	st2, _ := Open(dir)
	if err := st2.Prepare(ctx, []*sinks.Table{objects}); err != nil {
		t.Fatal(err)
	}
	have, err := st2.Resume(ctx, objects)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(have, map[int32]int64{0: 7, 1: 9}) {
		t.Fatalf("resume offsets %v", have)
	}
	got, err := ReadRows(file, objects)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i][10] = in[i][10].(time.Time).UTC()
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("read back\n%v\nwant\n%v", got, in)
	}
}

// disk is a file system with little free space: writes past it are cut
// short with ENOSPC, as a full disk cuts them.
type disk struct{ free int }

func (d *disk) write(f *os.File, b []byte) (int, error) {
	if len(b) <= d.free {
		d.free -= len(b)
		return f.Write(b)
	}
	n, err := f.Write(b[:d.free])
	d.free = 0
	if err == nil {
		err = syscall.ENOSPC
	}
	return n, err
}

// The disk fills up mid-append, at the data and at the commit record, in
// one hour's file and as the next hour's starts; the sink retries; a run
// restarts on the torn files; space is freed. Every row is there exactly
// once and every line reads back (before, a retry appended after the torn
// line and Resume failed on it).
func TestFullDiskThenSpaceFreed(t *testing.T) {
	objects := sinks.TableNamed("objects")
	dir := t.TempDir()
	ctx := context.Background()
	hour := 8
	d := &disk{free: 1 << 30}
	open := func() *Store {
		st, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		st.now = func() time.Time { return time.Date(2026, 9, 1, hour, 30, 0, 0, time.UTC) }
		st.write = d.write
		if err := st.Prepare(ctx, []*sinks.Table{objects}); err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	var want []sinks.Row
	offset := int64(0)
	batch := func(n int) []sinks.Row {
		var rows []sinks.Row
		for range n {
			rows = append(rows, sinks.Row{fmt.Sprintf("obj-%d", offset), "cam", "F", "B1", "R1", "", uint16(0), "apple",
				uint64(1), uint64(4), time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC), int64(1), int64(2), uint32(4),
				float32(0.5), float32(1), float32(2), float32(3), float32(4), (*float64)(nil), "m@1+sha256:aaaaaaaaaaaa", int32(offset % 3), offset})
			offset++
		}
		return rows
	}
	insert := func(rows []sinks.Row, free int, failures int) {
		t.Helper()
		d.free = free
		for i := range failures {
			if err := st.Insert(ctx, objects, sinktest.Block(t, objects, rows...)); !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("insert %d on a full disk: %v", i, err)
			}
			d.free = free // the retry finds the same little space
		}
		d.free = 1 << 30
		if err := st.Insert(ctx, objects, sinktest.Block(t, objects, rows...)); err != nil {
			t.Fatal(err)
		}
		want = append(want, rows...)
	}
	insert(batch(20), 1<<30, 0)
	insert(batch(20), 700, 3)  // torn in the data
	insert(batch(20), 5000, 2) // the data fits, the commit record does not
	hour = 9                   // the next file
	insert(batch(20), 10, 2)   // torn at the record moving to the new file
	insert(batch(20), 1000, 1) // torn in the new file
	d.free = 1500
	if err := st.Insert(ctx, objects, sinktest.Block(t, objects, batch(20)...)); err == nil {
		t.Fatal("insert on a full disk succeeded")
	}
	offset -= 20
	st = open() // a restart on the torn file
	if _, err := st.Resume(ctx, objects); err != nil {
		t.Fatalf("resume after a full disk: %v", err)
	}
	insert(batch(20), 1<<30, 0)

	var got []sinks.Row
	files, _ := st.Files(objects)
	for _, f := range files {
		rows, err := ReadRows(f, objects)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		got = append(got, rows...)
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows in %d files, want %d", len(got), len(files), len(want))
	}
	for i := range want {
		want[i][10] = want[i][10].(time.Time).UTC()
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("row %d: %v, want %v", i, got[i], want[i])
		}
	}
	have, err := st.Resume(ctx, objects)
	if err != nil || have[0] != offset-3 && have[0] != offset-2 && have[0] != offset-1 {
		t.Fatalf("resume %v %v", have, err)
	}
}
