package track

import (
	"fmt"
	"math/bits"
)

// Verdict is what the track stage does with a frame (see Streams.Admit).
type Verdict int

const (
	// Apply: the next frame of the camera's current stream.
	Apply Verdict = iota
	// Open: the first frame of a new stream, or of a confirmed jump in the
	// current one. The tracks still open end (nothing carries over: another
	// file, another pass, a camera restarted), then the frame is applied.
	Open
	// Replay: a frame applied before (Kafka redelivered it, or the same
	// stream was ingested again). Its objects are sent again if the replay
	// log still holds them; nothing else changes.
	Replay
	// Refuse: a frame the tracker will not apply; it is dead-lettered with
	// the reason Admit returns.
	Refuse
)

// reorderWindow is how many frames back from the last applied the current
// stream remembers which were applied: within it a frame at or below the
// last applied is told apart as a replay (applied) or out of order (never
// applied, dead-lettered). 512 bits, the track stage's default replay window.
const reorderWindow = 512

// maxPastStreams bounds the streams a camera remembers besides its current
// one: a frame of one of them is a replay or refused, never a new stream.
const maxPastStreams = 8

// StreamMark is how far a stream was applied.
type StreamMark struct {
	ID       string
	FirstSeq uint64 // first frame applied
	LastSeq  uint64 // last frame applied
}

// Streams is a camera's admission state: which stream it follows and which
// of its recent frames were applied. A few hundred bytes whatever the
// number of streams seen.
type Streams struct {
	Started bool
	Current StreamMark
	// Applied has bit i set when frame Current.LastSeq-i was applied.
	Applied [reorderWindow / 64]uint64
	// Past are earlier streams, newest last, at most maxPastStreams.
	Past []StreamMark
	// Jump is the target of the last refused jump (JumpSet): a next frame
	// that continues from it confirms the jump.
	Jump    uint64
	JumpSet bool
}

// Admit decides what to do with frame seq of stream id and records it as
// applied when the verdict is Apply or Open. The rules:
//   - a stream not seen before opens: the camera now follows it;
//   - a frame of the current stream after the last applied is applied,
//     unless it jumps more than maxJump frames ahead: then it is refused,
//     and a frame continuing from it (within maxJump) confirms the jump
//     (the stream reopens there). One absurd sequence cannot take the
//     camera with it;
//   - a frame at or below the last applied is a replay if it was applied,
//     refused as out of order if it was not (within the last 512 frames),
//     and taken for a replay further back (the stream was read past it);
//     below the stream's first frame it is refused;
//   - a frame of an earlier stream is a replay at or below where that
//     stream stopped, refused after it (the stream was superseded).
func (s *Streams) Admit(id string, seq, maxJump uint64) (Verdict, string) {
	if !s.Started {
		s.open(id, seq)
		return Open, ""
	}
	cur := &s.Current
	if id != cur.ID {
		for i := len(s.Past) - 1; i >= 0; i-- {
			if p := s.Past[i]; p.ID == id {
				if seq >= p.FirstSeq && seq <= p.LastSeq {
					return Replay, ""
				}
				return Refuse, fmt.Sprintf("frame %d of stream %q: the camera moved on to stream %q; a superseded stream's frames are not applied (its last applied was %d)",
					seq, id, cur.ID, p.LastSeq)
			}
		}
		s.Past = append(s.Past, *cur)
		if len(s.Past) > maxPastStreams {
			s.Past = append(s.Past[:0], s.Past[len(s.Past)-maxPastStreams:]...)
		}
		s.open(id, seq)
		return Open, ""
	}
	switch {
	case seq > cur.LastSeq && seq-cur.LastSeq <= maxJump:
		s.shift(seq - cur.LastSeq)
		cur.LastSeq = seq
		s.Applied[0] |= 1
		s.JumpSet = false
		return Apply, ""
	case seq > cur.LastSeq:
		if s.JumpSet && seq > s.Jump && seq-s.Jump <= maxJump {
			s.open(id, seq)
			return Open, ""
		}
		s.Jump, s.JumpSet = seq, true
		return Refuse, fmt.Sprintf("frame %d of stream %q jumps %d frames past the last applied (%d), more than %d: refused; a next frame continuing from %d confirms the jump",
			seq, id, seq-cur.LastSeq, cur.LastSeq, maxJump, seq)
	case seq < cur.FirstSeq:
		return Refuse, fmt.Sprintf("frame %d of stream %q is before the stream's first applied frame (%d): out of order, not applied", seq, id, cur.FirstSeq)
	case cur.LastSeq-seq >= reorderWindow:
		return Replay, ""
	case s.applied(cur.LastSeq - seq):
		return Replay, ""
	default:
		return Refuse, fmt.Sprintf("frame %d of stream %q arrived after frame %d: out of order, not applied (a stream's frames are tracked in sequence order)",
			seq, id, cur.LastSeq)
	}
}

func (s *Streams) open(id string, seq uint64) {
	s.Started = true
	s.Current = StreamMark{ID: id, FirstSeq: seq, LastSeq: seq}
	s.Applied = [reorderWindow / 64]uint64{1}
	s.JumpSet = false
}

func (s *Streams) applied(back uint64) bool {
	return s.Applied[back/64]&(1<<(back%64)) != 0
}

// shift moves the applied bits n frames back.
func (s *Streams) shift(n uint64) {
	if n >= reorderWindow {
		s.Applied = [reorderWindow / 64]uint64{}
		return
	}
	words, b := int(n/64), uint(n%64)
	var out [reorderWindow / 64]uint64
	for i := len(out) - 1; i >= words; i-- {
		w := s.Applied[i-words] << b
		if b > 0 && i-words-1 >= 0 {
			w |= s.Applied[i-words-1] >> (64 - b)
		}
		out[i] = w
	}
	s.Applied = out
}

// appliedCount is how many of the last reorderWindow frames were applied
// (for tests and metrics).
func (s *Streams) appliedCount() int {
	n := 0
	for _, w := range s.Applied {
		n += bits.OnesCount64(w)
	}
	return n
}
