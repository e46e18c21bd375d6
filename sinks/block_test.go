package sinks_test

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/sinktest"
)

// Every table's record decodes into a block whose rows, read back one by
// one, build the same block again: the typed columns lose nothing a row
// carries (NULLs, times, the source columns).
func TestBlockRoundTrip(t *testing.T) {
	seen := map[string]int{}
	for i, r := range sinktest.Stream(3, 120) {
		for _, tb := range sinks.Tables() {
			if string(tb.Topic) != r.Topic {
				continue
			}
			b := sinks.NewBlock(tb)
			if err := tb.Decode(b, r.Value, int32(i%3), int64(i)); err != nil {
				continue // the undecodable record
			}
			seen[tb.Name] += b.Len()
			again := sinks.NewBlock(tb)
			for k := range b.Len() {
				if err := again.AppendRow(b.Row(k)); err != nil {
					t.Fatalf("%s row %d: %v", tb.Name, k, err)
				}
				if b.Partition(k) != int32(i%3) || b.Offset(k) != int64(i) {
					t.Fatalf("%s row %d: source %d/%d, want %d/%d", tb.Name, k, b.Partition(k), b.Offset(k), i%3, i)
				}
			}
			for c := range tb.Columns {
				if !reflect.DeepEqual(b.Column(c), again.Column(c)) {
					t.Fatalf("%s column %s: %v, read back as rows and appended: %v", tb.Name, tb.Columns[c].Name, b.Column(c), again.Column(c))
				}
			}
		}
	}
	for _, tb := range sinks.Tables() {
		if tb.Name != "model_quality" && seen[tb.Name] == 0 {
			t.Errorf("no rows of %s in the stream", tb.Name)
		}
	}
}

func objectRow(id string, at time.Time, pos *float64, p int32, o int64) sinks.Row {
	return sinks.Row{id, "cam", "F", "B1", "R1", "", uint16(0), "apple", uint64(1), uint64(4), at, int64(1), int64(2),
		uint32(4), float32(0.5), float32(1), float32(2), float32(3), float32(4), pos, "m", p, o}
}

func objects() *sinks.Table {
	for _, tb := range sinks.Tables() {
		if tb.Name == "objects" {
			return tb
		}
	}
	panic("no objects table")
}

// Rows of blocks: copied, deleted, truncated; a row of the wrong type is
// refused whole; a time out of DateTime's range is named by Check.
func TestBlockRows(t *testing.T) {
	tb := objects()
	at := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	pos := 3.5
	b := sinktest.Block(t, tb, objectRow("a", at, &pos, 0, 1), objectRow("b", at, nil, 1, 2), objectRow("c", at, &pos, 2, 3))
	if b.Len() != 3 {
		t.Fatalf("len %d", b.Len())
	}
	nulls := b.Column(tb.Index("position_m")).([]*float64)
	if nulls[0] == nil || *nulls[0] != 3.5 || nulls[1] != nil {
		t.Fatalf("position_m %v", nulls)
	}
	if secs := b.Column(tb.Index("first_seen")).([]int64); secs[0] != at.Unix() {
		t.Fatalf("first_seen as sent: %d, want %d", secs[0], at.Unix())
	}
	c := sinks.NewBlock(tb)
	c.AppendFrom(b, 1, 3)
	c.DeleteRows(func(i int) bool { return c.Partition(i) == 1 })
	if c.Len() != 1 || c.Row(0)[0] != "c" {
		t.Fatalf("after copy and delete: %d rows, first %v", c.Len(), c.Row(0))
	}
	bad := objectRow("d", at, nil, 0, 4)
	bad[6] = 7 // an int where UInt16 wants uint16
	if err := b.AppendRow(bad); err == nil || !strings.Contains(err.Error(), "class_id") {
		t.Fatalf("a row with an int for UInt16: %v", err)
	}
	if b.Len() != 3 || len(b.Column(0).([]string)) != 3 {
		t.Fatalf("a refused row left values behind: %d rows, %d names", b.Len(), len(b.Column(0).([]string)))
	}
	if err := tb.CheckRow(objectRow("e", time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), nil, 0, 5)); err == nil || !strings.Contains(err.Error(), "first_seen") {
		t.Fatalf("year 2200: %v", err)
	}
	if err := tb.Check(b, 0); err != nil {
		t.Fatal(err)
	}
	b.Truncate(1)
	if b.Len() != 1 || len(b.Column(tb.Index("position_m")).([]*float64)) != 1 {
		t.Fatalf("truncate: %d rows", b.Len())
	}
}

// A DateTime is the second a nanosecond time falls in, before 1970 too (as
// time.Time truncation gave it).
func TestBlockTimeFloors(t *testing.T) {
	tb := &sinks.Table{Name: "t", Columns: []sinks.Column{{Name: "at", Type: "DateTime"}, {Name: "kafka_partition", Type: "Int32"}, {Name: "kafka_offset", Type: "Int64"}}}
	b := sinks.NewBlock(tb)
	for _, ns := range []int64{1_500_000_000, -1, -1_000_000_000, 0} {
		b.Time(ns).Source(0, 0)
	}
	if got, want := b.Column(0).([]int64), []int64{1, -1, -1, 0}; !reflect.DeepEqual(got, want) {
		t.Fatalf("seconds %v, want %v", got, want)
	}
}

// A table whose Append writes fewer values than it has columns is an error
// from Decode, and the block keeps only its earlier rows.
func TestDecodeShortRow(t *testing.T) {
	tb := &sinks.Table{Name: "t", Columns: []sinks.Column{{Name: "a", Type: "String"}, {Name: "kafka_partition", Type: "Int32"}, {Name: "kafka_offset", Type: "Int64"}},
		Append: func(b *sinks.Block, v []byte, p int32, o int64) error {
			b.Str(string(v))
			if len(v) > 1 {
				b.Source(p, o)
			}
			return nil
		}}
	b := sinks.NewBlock(tb)
	if err := tb.Decode(b, []byte("ok"), 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := tb.Decode(b, []byte("x"), 0, 2); err == nil {
		t.Fatal("a short row decoded")
	}
	if b.Len() != 1 || len(b.Column(0).([]string)) != 1 {
		t.Fatalf("after a short row: %d rows, %d values in a", b.Len(), len(b.Column(0).([]string)))
	}
	if err := tb.Decode(b, []byte("ok2"), 0, 3); err != nil || b.Len() != 2 {
		t.Fatalf("the next row: %v, %d rows", err, b.Len())
	}
}

// String columns keep their values through every way rows come and go
// (empty strings, copies from the middle of another block, deletions,
// truncation, more rows after it), checked against plain []string.
func TestBlockStrings(t *testing.T) {
	tb := &sinks.Table{Name: "t", Columns: []sinks.Column{{Name: "a", Type: "String"}, {Name: "kafka_partition", Type: "Int32"}, {Name: "kafka_offset", Type: "Int64"}}}
	rng := rand.New(rand.NewPCG(3, 4))
	word := func() string { return strings.Repeat(string(rune('a'+rng.IntN(26))), rng.IntN(4)) }
	b, want := sinks.NewBlock(tb), []string{}
	other, otherWant := sinks.NewBlock(tb), []string{}
	for range 30 {
		w := word()
		other.Bytes([]byte(w)).Source(0, 0)
		otherWant = append(otherWant, w)
	}
	for step := range 2000 {
		switch rng.IntN(5) {
		case 0, 1:
			w := word()
			b.Str(w).Source(int32(rng.IntN(3)), 0)
			want = append(want, w)
		case 2:
			from := rng.IntN(len(otherWant))
			to := from + rng.IntN(len(otherWant)-from+1)
			b.AppendFrom(other, from, to)
			for range to - from {
				want = append(want, "")
			}
			copy(want[len(want)-(to-from):], otherWant[from:to])
		case 3:
			p := int32(rng.IntN(3))
			var kept []string
			for i, w := range want {
				if b.Partition(i) != p {
					kept = append(kept, w)
				}
			}
			b.DeleteRows(func(i int) bool { return b.Partition(i) == p })
			want = kept
		case 4:
			n := rng.IntN(len(want) + 1)
			b.Truncate(n)
			want = want[:n]
		}
		got := b.Column(0).([]string)
		if len(want) == 0 {
			want = []string{}
		}
		if !reflect.DeepEqual(got, want) || b.Len() != len(want) {
			t.Fatalf("step %d: %q, want %q", step, got, want)
		}
		for i, w := range want {
			if b.Row(i)[0] != w {
				t.Fatalf("step %d: row %d is %q, want %q", step, i, b.Row(i)[0], w)
			}
		}
	}
}

// Parts cuts a block into runs of about n rows, never inside a record (rows
// of one partition and offset), whatever the records' sizes.
func TestBlockParts(t *testing.T) {
	tb := objects()
	at := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	rnd := rand.New(rand.NewPCG(1, 2))
	var rows []sinks.Row
	next := [2]int64{}
	for range 60 {
		p := rnd.IntN(2)
		for range 1 + rnd.IntN(9) {
			rows = append(rows, objectRow("x", at, nil, int32(p), next[p]))
		}
		next[p]++
	}
	b := sinktest.Block(t, tb, rows...)
	record := func(i int) [2]int64 { return [2]int64{int64(b.Partition(i)), b.Offset(i)} }
	for n := 1; n <= 40; n++ {
		ends := b.Parts(n)
		from := 0
		for _, end := range ends {
			if end <= from || end > b.Len() || end < b.Len() && record(end) == record(end-1) {
				t.Fatalf("n=%d: run %d..%d of %d rows cuts a record or is empty (ends %v)", n, from, end, b.Len(), ends)
			}
			last := end - 1
			for last > from && record(last-1) == record(end-1) {
				last--
			}
			if last-from >= n {
				t.Fatalf("n=%d: run %d..%d holds %d rows before its last record, want fewer than n", n, from, end, last-from)
			}
			from = end
		}
		if from != b.Len() {
			t.Fatalf("n=%d: runs end at %d of %d rows", n, from, b.Len())
		}
	}
}
