package track

import (
	"encoding/binary"
	"errors"
)

// emittedLog holds the objects recent frames counted, encoded, so a frame
// replayed after a crash sends them again (goka writes the table and the
// outputs as separate records: a crash can keep the one and lose the
// other; sending again is harmless, aggregate dedups). It is one byte slice
// of entries (uvarint seq, stream, block, object count, then each object as
// uvarint length and bytes; strings as uvarint length and bytes) because it rides in the camera's table record, which
// goka decodes and re-encodes with every frame: as a slice of structs in gob
// it cost many times the tracker's own state (benchmarks/results.md).
type emittedLog []byte

type emitted struct {
	Seq     uint64
	Stream  string
	Block   string
	Objects [][]byte
}

var errLog = errors.New("track state: corrupt emitted log")

func (l emittedLog) add(e emitted) emittedLog {
	l = binary.AppendUvarint(l, e.Seq)
	l = binary.AppendUvarint(l, uint64(len(e.Stream)))
	l = append(l, e.Stream...)
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
	return l.read(objects, true)
}

// read reads an entry; without stream it is one of the first log format
// (marker 0x02), from before streams.
func (l emittedLog) read(objects, stream bool) (emitted, emittedLog, error) {
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
	if stream {
		n, ok := take()
		if !ok || n > uint64(len(l)) {
			return e, nil, errLog
		}
		e.Stream, l = string(l[:n]), l[n:]
	}
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

// keep drops the entries for which f is false.
func (l emittedLog) keep(f func(emitted) bool) (emittedLog, error) {
	var out emittedLog
	for rest := l; len(rest) > 0; {
		e, after, err := rest.next(false)
		if err != nil {
			return nil, err
		}
		if f(e) {
			out = append(out, rest[:len(rest)-len(after)]...)
		}
		rest = after
	}
	return out, nil
}

// fromFirstFormat converts a log of the first format (no streams: the
// camera's unnamed stream).
func fromFirstFormat(b []byte) (emittedLog, error) {
	var out emittedLog
	for l := emittedLog(b); len(l) > 0; {
		e, rest, err := l.read(true, false)
		if err != nil {
			return nil, err
		}
		out = out.add(e)
		l = rest
	}
	return out, nil
}
