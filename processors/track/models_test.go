package track

import (
	"strings"
	"testing"
)

// A model switch in the middle of a pass: tracks seen only before it carry
// the old id, tracks born after it the new one, and a track that straddles
// the switch says it is mixed rather than taking either id.
func TestTrackModelAcrossSwitch(t *testing.T) {
	objs := background(12)
	fs := frames(objs, 40, func(i int) float64 { return float64(i) * 8 }, func(o, i int) float64 { return 0.9 })
	for i := range fs {
		fs[i].Model = "old@1+sha256:aaaa"
		if i >= 20 {
			fs[i].Model = "new@2+sha256:bbbb"
		}
	}
	counted, _ := run(t, fs)
	var old, neu, mixed int
	for _, tr := range counted {
		switch {
		case tr.Model == "old@1+sha256:aaaa":
			old++
			if tr.LastSeq >= 20 {
				t.Errorf("track %d seen up to frame %d has the old model only", tr.ID, tr.LastSeq)
			}
		case tr.Model == "new@2+sha256:bbbb":
			neu++
			if tr.FirstSeq < 20 {
				t.Errorf("track %d born at frame %d has the new model only", tr.ID, tr.FirstSeq)
			}
		case tr.Model == MixedPrefix+"old@1+sha256:aaaa,new@2+sha256:bbbb":
			mixed++
			if tr.FirstSeq >= 20 || tr.LastSeq < 20 {
				t.Errorf("track %d (frames %d-%d) marked mixed without straddling the switch", tr.ID, tr.FirstSeq, tr.LastSeq)
			}
		default:
			t.Errorf("track %d: model %q", tr.ID, tr.Model)
		}
	}
	if old == 0 || neu == 0 || mixed == 0 {
		t.Fatalf("counted %d old, %d new, %d mixed tracks; want some of each", old, neu, mixed)
	}
}

func TestMixedModels(t *testing.T) {
	m := MixedModels(MixedModels("a", "b"), "a")
	if m != "mixed:a,b" || MixedModels(m, "c") != "mixed:a,b,c" || MixedModels("a", "") != "a" {
		t.Fatalf("MixedModels: %q, %q", m, MixedModels(m, "c"))
	}
	if !strings.HasPrefix(MixedModels("", "x"), "x") {
		t.Fatal("a track with no model yet takes the first")
	}
}
