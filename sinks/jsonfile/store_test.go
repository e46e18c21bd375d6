package jsonfile

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/cropstream/cropstream/sinks"
)

func TestInsertTornAppendResumeAndReadBack(t *testing.T) {
	var objects *sinks.Table
	for _, tb := range sinks.Tables() {
		if tb.Name == "objects" {
			objects = tb
		}
	}
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
	if err := st.Insert(ctx, objects, in); err != nil {
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
