package track

import (
	"encoding/binary"
	"errors"
)

// emittedLog holds the objects recent frames counted, encoded, so a frame
// replayed after a crash sends them again (goka writes the table and the
// outputs as separate records: a crash can keep the one and lose the
// other; sending again is harmless, aggregate dedups). It is one byte slice
// of entries (uvarint seq, block, object count, then each object as uvarint
// length and bytes) because it rides in the camera's table record, which
// goka decodes and re-encodes with every frame: as a slice of structs in gob
// it cost many times the tracker's own state (benchmarks/results.md).
type emittedLog []byte

type emitted struct {
	Seq     uint64
	Block   string
	Objects [][]byte
}

var errLog = errors.New("track state: corrupt emitted log")

func (l emittedLog) add(e emitted) emittedLog {
	l = binary.AppendUvarint(l, e.Seq)
	l = binary.AppendUvarint(l, uint64(len(e.Block)))
	l = append(l, e.Block...)
	l = binary.AppendUvarint(l, uint64(len(e.Objects)))
	for _, o := range e.Objects {
		l = binary.AppendUvarint(l, uint64(len(o)))
		l = append(l, o...)
	}
	return l
}

// next reads the entry at the start of l and returns it and the rest. With
// objects false it only skips them.
func (l emittedLog) next(objects bool) (emitted, emittedLog, error) {
	var e emitted
	take := func() (uint64, bool) {
		v, n := binary.Uvarint(l)
		if n <= 0 {
			return 0, false
		}
		l = l[n:]
		return v, true
	}
	seq, ok := take()
	if !ok {
		return e, nil, errLog
	}
	e.Seq = seq
	n, ok := take()
	if !ok || n > uint64(len(l)) {
		return e, nil, errLog
	}
	e.Block, l = string(l[:n]), l[n:]
	count, ok := take()
	if !ok {
		return e, nil, errLog
	}
	for ; count > 0; count-- {
		n, ok := take()
		if !ok || n > uint64(len(l)) {
			return e, nil, errLog
		}
		if objects {
			e.Objects = append(e.Objects, l[:n:n])
		}
		l = l[n:]
	}
	return e, l, nil
}

// each calls f for every entry, oldest first.
func (l emittedLog) each(f func(emitted)) error {
	for len(l) > 0 {
		e, rest, err := l.next(true)
		if err != nil {
			return err
		}
		f(e)
		l = rest
	}
	return nil
}

// since drops the entries of frames before seq (the log is in frame order).
func (l emittedLog) since(seq uint64) (emittedLog, error) {
	for len(l) > 0 {
		e, rest, err := l.next(false)
		if err != nil {
			return nil, err
		}
		if e.Seq >= seq {
			return l, nil
		}
		l = rest
	}
	return l[:0], nil
}
