package fieldrun

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/evaluation"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/simulator"
)

// Two fruit seen in 12 frames are reported from their first frame, once
// their tracks are confirmed (reported only from the third frame on, 4 of
// their 24 boxes were misses); a box seen twice, never confirmed, is not
// reported at all.
func TestScoreTrackingReportsWholeTrajectories(t *testing.T) {
	fruit := []image.Rectangle{image.Rect(100, 100, 140, 140), image.Rect(300, 200, 340, 240)}
	ghost := image.Rect(500, 50, 530, 80)
	var recs []*kgo.Record
	truth := map[uint64][]simulator.Box{}
	for seq := uint64(1); seq <= 12; seq++ {
		d := &schema.Detections{FrameId: fmt.Sprintf("c-%d", seq), CameraId: "c", RowId: "R1", Sequence: seq, Width: 640, Height: 360}
		boxes := fruit
		if seq == 3 || seq == 4 {
			boxes = append(boxes[:len(boxes):len(boxes)], ghost)
		}
		for _, r := range boxes {
			d.Detections = append(d.Detections, &schema.Detection{Box: &schema.Box{X1: float32(r.Min.X), Y1: float32(r.Min.Y), X2: float32(r.Max.X), Y2: float32(r.Max.Y)}, Score: 0.9})
		}
		for id, r := range fruit {
			truth[seq] = append(truth[seq], simulator.Box{UnitID: id + 1, Rect: r, Visibility: 1})
		}
		v, err := schema.Encode(d)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Value: v})
	}
	dir := t.TempDir()
	tr, err := scoreTracking(decodeDetections(recs), truth, dir, track.Params{}, evaluation.ByteTrackConfig{FrameRate: 10})
	if err != nil {
		t.Fatal(err)
	}
	res := tr.Own
	if res.MOTA != 1 || res.IDF1 != 1 || res.FN != 0 || res.FP != 0 || res.TrackIDs != 2 {
		t.Fatalf("%+v, want every truth box matched by two tracks", res)
	}
	// The standard scoring agrees offline; online, each track is reported
	// from its second hit on: 1 miss per fruit, and the ghost's second box
	// is a false positive (a live tracker cannot know it will die).
	if st := tr.Standard.RawOffline; st.MOTA != 1 || st.HOTA < 0.999 || st.IDSW != 0 {
		t.Fatalf("offline %+v", st)
	}
	if st := tr.Standard.RawOnline; st.FN != 2 || st.TP != 22 || st.FP != 1 || st.Frag != 0 {
		t.Fatalf("online %+v, want the first box of each fruit missed", st)
	}
	b, err := os.ReadFile(filepath.Join(dir, "tracks.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 24 || !strings.HasPrefix(lines[0], "1,") || !strings.HasPrefix(lines[23], "12,") {
		t.Fatalf("tracks.txt has %d lines from %q to %q, want 24 from frame 1 to 12", len(lines), lines[0], lines[len(lines)-1])
	}
	b, err = os.ReadFile(filepath.Join(dir, "tracks-online.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 23 || !strings.HasPrefix(lines[0], "2,") {
		t.Fatalf("tracks-online.txt has %d lines from %q, want 23 from frame 2", len(lines), lines[0])
	}
}

// A replay scores what the run saw: the two fruit of the stream above are
// counted once each in their row, and the ghost seen twice is not.
func TestReplayScoresCountsPerRow(t *testing.T) {
	fruit := []image.Rectangle{image.Rect(100, 100, 140, 140), image.Rect(300, 200, 340, 240)}
	rp := &Replay{Scenario: "t", Truth: map[uint64][]simulator.Box{}, VisibleByRow: map[string]int{"R1": 2}, FPS: 10}
	for seq := uint64(1); seq <= 12; seq++ {
		d := &schema.Detections{FrameId: fmt.Sprintf("c-%d", seq), CameraId: "c", RowId: "R1", Sequence: seq, Width: 640, Height: 360}
		boxes := fruit
		if seq == 3 || seq == 4 {
			boxes = append(boxes[:len(boxes):len(boxes)], image.Rect(500, 50, 530, 80))
		}
		for _, r := range boxes {
			d.Detections = append(d.Detections, &schema.Detection{Box: &schema.Box{X1: float32(r.Min.X), Y1: float32(r.Min.Y), X2: float32(r.Max.X), Y2: float32(r.Max.Y)}, Score: 0.9})
		}
		for id, r := range fruit {
			rp.Truth[seq] = append(rp.Truth[seq], simulator.Box{UnitID: id + 1, Rect: r, Visibility: 1})
		}
		b, err := schema.Encode(d)
		if err != nil {
			t.Fatal(err)
		}
		rp.Detections = append(rp.Detections, b)
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := WriteReplay(path, rp); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReplay(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := back.Score(track.Params{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counted != 2 || rep.Visible != 2 || len(rep.Rows) != 1 || rep.Rows[0].Counted != 2 || rep.Standard.RawOffline.MOTA != 1 {
		t.Fatalf("%+v", rep)
	}
}
