package track

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/cropstream/cropstream/zones"
)

// The count lines' state rides in the camera's table record, decoded and
// re-encoded with every frame, so it is written by hand (as the emitted log
// is): per line its name, ends and band, its totals per class, and its
// tally; integers as uvarints, coordinates as float64 bits.

var errLines = errors.New("track state: corrupt count lines")

func appendLines(b []byte, lines map[string]*lineState) []byte {
	if len(lines) == 0 {
		return b
	}
	b = binary.AppendUvarint(b, uint64(len(lines)))
	for _, ls := range lines {
		l := ls.Line
		b = binary.AppendUvarint(b, uint64(len(l.Name)))
		b = append(b, l.Name...)
		for _, v := range []float64{l.A.X, l.A.Y, l.B.X, l.B.Y, l.Band} {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		for _, m := range []map[int]uint64{ls.In, ls.Out} {
			b = binary.AppendUvarint(b, uint64(len(m)))
			for c, n := range m {
				b = binary.AppendUvarint(b, uint64(c))
				b = binary.AppendUvarint(b, n)
			}
		}
		b = binary.AppendUvarint(b, uint64(len(ls.Tally)))
		for id, mk := range ls.Tally {
			b = binary.AppendUvarint(b, id)
			b = append(b, byte(mk.Side), mk.Crossed, mk.Counted)
		}
	}
	return b
}

func readLines(b []byte) (map[string]*lineState, error) {
	if len(b) == 0 {
		return nil, nil
	}
	bad := false
	uv := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			bad = true
			return 0
		}
		b = b[n:]
		return v
	}
	take := func(n uint64) []byte {
		if bad || n > uint64(len(b)) {
			bad = true
			return nil
		}
		v := b[:n]
		b = b[n:]
		return v
	}
	count := uv()
	if bad || count > zones.MaxLines*4 {
		return nil, errLines
	}
	out := make(map[string]*lineState, count)
	for range count {
		ls := &lineState{Tally: zones.Tally{}, In: map[int]uint64{}, Out: map[int]uint64{}}
		ls.Line.Name = string(take(uv()))
		var f [5]float64
		for i := range f {
			if x := take(8); x != nil {
				f[i] = math.Float64frombits(binary.LittleEndian.Uint64(x))
			}
		}
		ls.Line.A, ls.Line.B, ls.Line.Band = zones.Point{X: f[0], Y: f[1]}, zones.Point{X: f[2], Y: f[3]}, f[4]
		for _, m := range []map[int]uint64{ls.In, ls.Out} {
			for n := uv(); n > 0 && !bad; n-- {
				c := uv()
				m[int(c)] = uv()
			}
		}
		for n := uv(); n > 0 && !bad; n-- {
			id := uv()
			if x := take(3); x != nil {
				ls.Tally[id] = zones.Mark{Side: int8(x[0]), Crossed: x[1], Counted: x[2]}
			}
		}
		if bad {
			return nil, errLines
		}
		out[ls.Line.Name] = ls
	}
	if len(b) > 0 {
		return nil, errLines
	}
	return out, nil
}
