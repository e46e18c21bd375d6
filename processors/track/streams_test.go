package track

import (
	"strings"
	"testing"
)

func TestAdmit(t *testing.T) {
	type step struct {
		stream string
		seq    uint64
		want   Verdict
		reason string // part of the refusal's reason
	}
	cases := map[string][]step{
		"second file restarts at 0": {
			{"a", 0, Open, ""}, {"a", 1, Apply, ""}, {"a", 2, Apply, ""},
			{"b", 0, Open, ""}, {"b", 1, Apply, ""},
			{"a", 1, Replay, ""}, // a replay of the first file is still one
			{"a", 3, Refuse, "moved on"},
		},
		"re-ingest of the same stream is a replay": {
			{"a", 0, Open, ""}, {"a", 1, Apply, ""}, {"a", 2, Apply, ""}, {"a", 0, Replay, ""}, {"a", 2, Replay, ""}, {"a", 3, Apply, ""},
		},
		"one absurd sequence does not blackhole": {
			{"a", 10, Open, ""}, {"a", 11, Apply, ""}, {"a", 1_000_000_000_000, Refuse, "jumps"},
			{"a", 12, Apply, ""}, {"a", 13, Apply, ""},
		},
		"a jump confirmed by the next frame": {
			{"a", 10, Open, ""}, {"a", 5_000_000, Refuse, "jumps"}, {"a", 5_000_001, Open, ""}, {"a", 5_000_002, Apply, ""},
		},
		"out of order is refused, not lost silently": {
			{"a", 0, Open, ""}, {"a", 1, Apply, ""}, {"a", 3, Apply, ""}, {"a", 2, Refuse, "out of order"}, {"a", 1, Replay, ""},
		},
		"before the stream's start": {
			{"a", 100, Open, ""}, {"a", 99, Refuse, "before the stream"},
		},
		"unnamed stream": {
			{"", 5, Open, ""}, {"", 6, Apply, ""}, {"", 6, Replay, ""},
		},
	}
	for name, steps := range cases {
		t.Run(name, func(t *testing.T) {
			var s Streams
			for i, st := range steps {
				v, why := s.Admit(st.stream, st.seq, 100_000)
				if v != st.want || !strings.Contains(why, st.reason) || (v == Refuse) != (why != "") {
					t.Fatalf("step %d (%s/%d): %v %q, want %v %q", i, st.stream, st.seq, v, why, st.want, st.reason)
				}
			}
		})
	}
}

// The applied bits follow the last frame across gaps and long runs.
func TestAdmitWindow(t *testing.T) {
	var s Streams
	s.Admit("a", 0, 1000)
	for seq := uint64(2); seq < 2000; seq += 2 { // every other frame
		if v, why := s.Admit("a", seq, 1000); v != Apply {
			t.Fatalf("frame %d: %v %s", seq, v, why)
		}
	}
	if n := s.appliedCount(); n != reorderWindow/2 {
		t.Fatalf("%d of the last %d applied, want half", n, reorderWindow)
	}
	for back := uint64(0); back < reorderWindow; back++ {
		seq := 1998 - back
		want := Replay
		if seq%2 == 1 {
			want = Refuse
		}
		if v, _ := s.Admit("a", seq, 1000); v != want {
			t.Fatalf("frame %d: %v, want %v", seq, v, want)
		}
	}
}

// A camera's admission state stays small however many streams it saw.
func TestStreamsStaySmall(t *testing.T) {
	var s Streams
	for i := 0; i < 1000; i++ {
		s.Admit(streamName(i), 0, 10)
	}
	if len(s.Past) != maxPastStreams {
		t.Fatalf("%d past streams kept", len(s.Past))
	}
}

func streamName(i int) string {
	return string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
}
