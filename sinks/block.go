package sinks

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unsafe"
)

// Block holds rows of one table column by column, each column a slice of
// its own Go type: what a ClickHouse Native block is, so a store sends it
// without touching each value, and decoding a record boxes nothing.
type Block struct {
	table *Table
	cols  []vector
	strs  []string // see strs.values
	// at is the column the next Row value goes to.
	at int
}

// vector is one column of a Block.
type vector interface {
	len() int
	// values are rows from..to-1 of the column as the ClickHouse driver
	// takes them.
	values(from, to int) any
	value(i int) any
	appendValue(v any) bool
	// appendJSON appends a value as the files store writes it.
	appendJSON(raw json.RawMessage) error
	appendFrom(src vector, from, to int)
	truncate(n int)
	deleteRows(del []bool)
}

// vec is a column held as []T and given to the driver as it is.
type vec[T any] struct{ v []T }

func (c *vec[T]) len() int                { return len(c.v) }
func (c *vec[T]) values(from, to int) any { return c.v[from:to] }
func (c *vec[T]) value(i int) any         { return c.v[i] }
func (c *vec[T]) truncate(n int)          { c.v = c.v[:n] }
func (c *vec[T]) appendFrom(src vector, from, to int) {
	c.v = append(c.v, src.(*vec[T]).v[from:to]...)
}
func (c *vec[T]) deleteRows(del []bool) { c.v = deleteRows(c.v, del) }
func (c *vec[T]) appendValue(v any) bool {
	x, ok := v.(T)
	if ok {
		c.v = append(c.v, x)
	}
	return ok
}
func (c *vec[T]) appendJSON(raw json.RawMessage) error {
	var x T
	if err := json.Unmarshal(raw, &x); err != nil {
		return err
	}
	c.v = append(c.v, x)
	return nil
}

// strs is a String column held as one buffer of bytes and where each value
// ends: no pointer per row for the collector to scan, and no allocation per
// value (a decoded record's strings are copied in, not kept).
type strs struct {
	buf []byte
	end []int
	// out is the block's one []string for handing a column to the driver.
	out *[]string
}

func (c *strs) len() int { return len(c.end) }
func (c *strs) start(i int) int {
	if i == 0 {
		return 0
	}
	return c.end[i-1]
}
func (c *strs) at(i int) []byte { return c.buf[c.start(i):c.end[i]] }

// values are strings sharing the block's buffer (what the driver copies
// from), valid until the block changes or the next String column is asked
// for: one slice serves all of them, rather than a new one per column and
// insert.
func (c *strs) values(from, to int) any {
	out := slices.Grow((*c.out)[:0], to-from)[:to-from]
	*c.out = out
	for i := range out {
		if s, e := c.start(from+i), c.end[from+i]; e > s {
			out[i] = unsafe.String(&c.buf[s], e-s)
		} else {
			out[i] = ""
		}
	}
	return out
}
func (c *strs) value(i int) any { return string(c.at(i)) }
func (c *strs) appendJSON(raw json.RawMessage) error {
	var x string
	if err := json.Unmarshal(raw, &x); err != nil {
		return err
	}
	addStr(c, x)
	return nil
}
func (c *strs) appendValue(v any) bool {
	x, ok := v.(string)
	if ok {
		addStr(c, x)
	}
	return ok
}
func (c *strs) appendFrom(src vector, from, to int) {
	s := src.(*strs)
	if from == to {
		return
	}
	base, first := len(c.buf), s.start(from)
	c.buf = append(c.buf, s.buf[first:s.end[to-1]]...)
	for _, e := range s.end[from:to] {
		c.end = append(c.end, base+e-first)
	}
}
func (c *strs) truncate(n int) { c.buf, c.end = c.buf[:c.start(n)], c.end[:n] }
func (c *strs) deleteRows(del []bool) {
	w, kept := 0, 0
	for i := range c.end {
		if del[i] {
			continue
		}
		w += copy(c.buf[w:], c.at(i))
		c.end[kept] = w
		kept++
	}
	c.buf, c.end = c.buf[:w], c.end[:kept]
}

func addStr[S string | []byte](c *strs, v S) {
	c.buf = append(c.buf, v...)
	c.end = append(c.end, len(c.buf))
}

// seconds is a DateTime column: Unix seconds, which the driver sends as
// they are (a time.Time per row would carry a pointer for the collector to
// scan and be converted back to seconds anyway).
type seconds struct{ vec[int64] }

func (c *seconds) value(i int) any { return time.Unix(c.v[i], 0).UTC() }
func (c *seconds) appendFrom(src vector, from, to int) {
	c.v = append(c.v, src.(*seconds).v[from:to]...)
}
func (c *seconds) appendValue(v any) bool {
	t, ok := v.(time.Time)
	if ok {
		c.v = append(c.v, t.Unix())
	}
	return ok
}

// nullable is a Nullable(Float64) column: values and a null flag, no
// pointer per row until the driver wants []*float64 at insert.
type nullable struct {
	v    []float64
	null []bool
}

func (c *nullable) len() int { return len(c.v) }
func (c *nullable) values(from, to int) any {
	out := make([]*float64, to-from)
	for i := range out {
		if !c.null[from+i] {
			out[i] = &c.v[from+i]
		}
	}
	return out
}
func (c *nullable) value(i int) any {
	if c.null[i] {
		return (*float64)(nil)
	}
	v := c.v[i]
	return &v
}
func (c *nullable) add(p *float64) {
	if p == nil {
		c.v, c.null = append(c.v, 0), append(c.null, true)
		return
	}
	c.v, c.null = append(c.v, *p), append(c.null, false)
}
func (c *nullable) appendJSON(raw json.RawMessage) error {
	var p *float64
	if err := json.Unmarshal(raw, &p); err != nil {
		return err
	}
	c.add(p)
	return nil
}
func (c *nullable) appendValue(v any) bool {
	p, ok := v.(*float64)
	if ok {
		c.add(p)
	}
	return ok
}
func (c *nullable) appendFrom(src vector, from, to int) {
	s := src.(*nullable)
	c.v, c.null = append(c.v, s.v[from:to]...), append(c.null, s.null[from:to]...)
}
func (c *nullable) truncate(n int) { c.v, c.null = c.v[:n], c.null[:n] }
func (c *nullable) deleteRows(del []bool) {
	c.v, c.null = deleteRows(c.v, del), deleteRows(c.null, del)
}

func deleteRows[T any](v []T, del []bool) []T {
	i := 0
	return slices.DeleteFunc(v, func(T) bool { i++; return del[i-1] })
}

// newVector makes the column for a ClickHouse type the tables use; any other
// type is a mistake in a table's declaration.
func newVector(typ string) vector {
	switch typ {
	case "String":
		return &strs{}
	case "UInt8":
		return &vec[uint8]{}
	case "UInt16":
		return &vec[uint16]{}
	case "UInt32":
		return &vec[uint32]{}
	case "UInt64":
		return &vec[uint64]{}
	case "Int32":
		return &vec[int32]{}
	case "Int64":
		return &vec[int64]{}
	case "Float32":
		return &vec[float32]{}
	case "Float64":
		return &vec[float64]{}
	case "Nullable(Float64)":
		return &nullable{}
	case "DateTime":
		return &seconds{}
	}
	panic(fmt.Sprintf("sinks: no column type %s", typ))
}

// ValueOfJSON is a value of a column of type typ, as the files store writes
// it, in the Go type a Row holds for that column.
func ValueOfJSON(typ string, raw json.RawMessage) (any, error) {
	v := newVector(typ)
	if err := v.appendJSON(raw); err != nil {
		return nil, err
	}
	return v.value(0), nil
}

// NewBlock makes an empty block of t's columns.
func NewBlock(t *Table) *Block {
	b := &Block{table: t, cols: make([]vector, len(t.Columns))}
	for i, c := range t.Columns {
		b.cols[i] = newVector(c.Type)
		if s, ok := b.cols[i].(*strs); ok {
			s.out = &b.strs
		}
	}
	return b
}

// BlockOf makes a block of rows, each value of its column's Go type (as Row
// says); a value of another type is an error naming the column.
func BlockOf(t *Table, rows ...Row) (*Block, error) {
	b := NewBlock(t)
	for _, r := range rows {
		if err := b.AppendRow(r); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// Table is the table whose columns b holds.
func (b *Block) Table() *Table { return b.table }

// Len is the number of rows.
func (b *Block) Len() int { return b.cols[len(b.cols)-1].len() }

// Column is column i as the ClickHouse driver appends it in one call:
// []string, []uint8 ... []float64, []*float64 for Nullable(Float64), and
// []int64 Unix seconds for DateTime. A []string shares the block's memory:
// it holds until the block changes or Column is called for another String
// column (the driver copies each column as it takes it).
func (b *Block) Column(i int) any { return b.ColumnRange(i, 0, b.Len()) }

// ColumnRange is rows from..to-1 of column i, as Column gives them.
func (b *Block) ColumnRange(i, from, to int) any { return b.cols[i].values(from, to) }

// Parts cuts the block into runs of rows of about n rows each, ends
// exclusive, never inside a record (rows of one kafka_partition and
// kafka_offset, which Decode writes together): a store that sends a block
// in parts and fails half way has stored whole records, a prefix of every
// partition's. A record of more than n rows is a run of its own.
func (b *Block) Parts(n int) []int {
	var ends []int
	rows := b.Len()
	for from := 0; from < rows; {
		end := min(rows, from+max(n, 1))
		for end < rows && b.Partition(end) == b.Partition(end-1) && b.Offset(end) == b.Offset(end-1) {
			end++
		}
		ends = append(ends, end)
		from = end
	}
	return ends
}

// Row is row i, boxed, for stores that write row by row.
func (b *Block) Row(i int) Row {
	r := make(Row, len(b.cols))
	for c, v := range b.cols {
		r[c] = v.value(i)
	}
	return r
}

// AppendRow adds a row given as Row values; a value of the wrong type is an
// error and adds nothing.
func (b *Block) AppendRow(r Row) error {
	if len(r) != len(b.cols) {
		return fmt.Errorf("%s: a row of %d values, want %d", b.table.Name, len(r), len(b.cols))
	}
	n := b.Len()
	for i, v := range r {
		if !b.cols[i].appendValue(v) {
			b.Truncate(n)
			return fmt.Errorf("%s: column %s is %T, want the Go type of %s", b.table.Name, b.table.Columns[i].Name, v, b.table.Columns[i].Type)
		}
	}
	return nil
}

// AppendFrom adds rows from..to-1 of src, a block of the same table.
func (b *Block) AppendFrom(src *Block, from, to int) {
	for i, c := range b.cols {
		c.appendFrom(src.cols[i], from, to)
	}
}

// Truncate keeps the first n rows.
func (b *Block) Truncate(n int) {
	for _, c := range b.cols {
		c.truncate(n)
	}
	b.at = 0
}

// Reset empties the block, keeping its memory.
func (b *Block) Reset() { b.Truncate(0) }

// DeleteRows removes the rows i for which del(i) is true.
func (b *Block) DeleteRows(del func(i int) bool) {
	marks := make([]bool, b.Len())
	hit := false
	for i := range marks {
		marks[i] = del(i)
		hit = hit || marks[i]
	}
	if !hit {
		return
	}
	for _, c := range b.cols {
		c.deleteRows(marks)
	}
}

// Partition and Offset are row i's kafka_partition and kafka_offset.
func (b *Block) Partition(i int) int32 { return b.cols[len(b.cols)-2].(*vec[int32]).v[i] }

// Offset: see Partition.
func (b *Block) Offset(i int) int64 { return b.cols[len(b.cols)-1].(*vec[int64]).v[i] }

// unix is row i of DateTime column col, in Unix seconds.
func (b *Block) unix(col, i int) int64 { return b.cols[col].(*seconds).v[i] }

// complete reports a row left with fewer or more values than columns: a
// table whose Append does not match its Columns.
func (b *Block) complete() error {
	n := b.cols[0].len()
	for i, c := range b.cols {
		if c.len() != n || b.at != 0 {
			return fmt.Errorf("sinks: table %s wrote %d values to column %s, %d to %s", b.table.Name, c.len(), b.table.Columns[i].Name, n, b.table.Columns[0].Name)
		}
	}
	return nil
}

// The methods below add one value each to the row being written, in
// column order: a table's Append reads like the row it makes. A value for a
// column of another type is a mistake in the table's declaration (a panic
// naming it; every table's Append runs in the tests).

func (b *Block) next() vector {
	c := b.cols[b.at]
	b.at++
	if b.at == len(b.cols) {
		b.at = 0
	}
	return c
}

func put[T any](b *Block, v T) *Block {
	at := b.at
	c, ok := b.next().(*vec[T])
	if !ok {
		panic(fmt.Sprintf("sinks: table %s: column %s is %s, given %T", b.table.Name, b.table.Columns[at].Name, b.table.Columns[at].Type, v))
	}
	c.v = append(c.v, v)
	return b
}

// Str adds a String.
func (b *Block) Str(v string) *Block { return putStr(b, v) }

func putStr[S string | []byte](b *Block, v S) *Block {
	at := b.at
	c, ok := b.next().(*strs)
	if !ok {
		panic(fmt.Sprintf("sinks: table %s: column %s is %s, given a string", b.table.Name, b.table.Columns[at].Name, b.table.Columns[at].Type))
	}
	addStr(c, v)
	return b
}

// Bytes adds a String given as bytes.
func (b *Block) Bytes(v []byte) *Block { return putStr(b, v) }

// U8 adds a UInt8.
func (b *Block) U8(v uint8) *Block { return put(b, v) }

// U16 adds a UInt16.
func (b *Block) U16(v uint16) *Block { return put(b, v) }

// U32 adds a UInt32.
func (b *Block) U32(v uint32) *Block { return put(b, v) }

// U64 adds a UInt64.
func (b *Block) U64(v uint64) *Block { return put(b, v) }

// I32 adds an Int32.
func (b *Block) I32(v int32) *Block { return put(b, v) }

// I64 adds an Int64.
func (b *Block) I64(v int64) *Block { return put(b, v) }

// F32 adds a Float32.
func (b *Block) F32(v float32) *Block { return put(b, v) }

// F64 adds a Float64.
func (b *Block) F64(v float64) *Block { return put(b, v) }

// OptF64 adds a Nullable(Float64): NULL for nil.
func (b *Block) OptF64(v *float64) *Block {
	at := b.at
	c, ok := b.next().(*nullable)
	if !ok {
		panic(fmt.Sprintf("sinks: table %s: column %s is %s, given *float64", b.table.Name, b.table.Columns[at].Name, b.table.Columns[at].Type))
	}
	c.add(v)
	return b
}

// Time adds a DateTime of a capture or emit time in Unix nanoseconds,
// floored to the second (DateTime's resolution).
func (b *Block) Time(ns int64) *Block {
	at := b.at
	c, ok := b.next().(*seconds)
	if !ok {
		panic(fmt.Sprintf("sinks: table %s: column %s is %s, given a time", b.table.Name, b.table.Columns[at].Name, b.table.Columns[at].Type))
	}
	s := ns / 1e9
	if ns%1e9 < 0 {
		s--
	}
	c.v = append(c.v, s)
	return b
}

// Source adds the closing kafka_partition and kafka_offset, ending the row.
func (b *Block) Source(partition int32, offset int64) *Block {
	return b.I32(partition).I64(offset)
}
