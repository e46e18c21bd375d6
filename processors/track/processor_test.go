package track

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/evaluation"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/simulator"
	"github.com/cropstream/cropstream/stage/stagetest"
	"github.com/cropstream/cropstream/topology"
)

// truthDetections is a small version of the default scenario seen by a
// perfect detector.
func truthDetections(t testing.TB, camera string, seed uint64) []*schema.Detections {
	sc, err := simulator.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	sc.Seed, sc.Rows, sc.PlantsPerRow = seed, 2, 3
	sc.Camera.Width, sc.Camera.Height = 640, 360
	out, err := evaluation.TruthDetections(sc, camera, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func expectedIDs(dets []*schema.Detections) []string {
	var ids []string
	s := &State{}
	for _, d := range dets {
		c, _ := s.Step(Params{}, FrameOf(d))
		for _, tr := range c {
			ids = append(ids, ObjectID(d.CameraId, d.StreamId, tr.ID))
		}
	}
	return ids
}

func TestTrackStageSurvivesRestarts(t *testing.T) {
	conn, _ := brokertest.Open(t, topology.Config{CameraPartitions: 4, BlockPartitions: 2, DLQPartitions: 1})
	ctx := context.Background()

	var want []string
	cl, _ := conn.Client()
	defer cl.Close()
	produce := func(recs []*kgo.Record) {
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var batches [][]*kgo.Record
	for i, cam := range []string{"cam-1", "cam-2"} {
		dets := truthDetections(t, cam, uint64(100+i))
		want = append(want, expectedIDs(dets)...)
		for k, d := range dets {
			val, err := schema.Encode(d)
			if err != nil {
				t.Fatal(err)
			}
			for len(batches) <= k/20 {
				batches = append(batches, nil)
			}
			batches[k/20] = append(batches[k/20], &kgo.Record{Topic: "detections", Key: []byte(cam), Value: val})
		}
	}
	// A malformed record in the middle goes to the dead-letter topic.
	batches[1] = append(batches[1], &kgo.Record{Topic: "detections", Key: []byte("cam-1"), Value: []byte{0x08, 0x01, 0x12, 0xff}})

	// Feed the stream in batches while the stage is stopped and restarted.
	seen := map[string]int{}
	reader, _ := conn.Client(kgo.ConsumeTopics("objects"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer reader.Close()
	drain := func(wait time.Duration) {
		for {
			pctx, cancel := context.WithTimeout(ctx, wait)
			fs := reader.PollFetches(pctx)
			cancel()
			if fs.NumRecords() == 0 {
				return
			}
			fs.EachRecord(func(r *kgo.Record) {
				o, err := schema.DecodeCountedObject(r.Value)
				if err != nil {
					t.Fatal(err)
				}
				if string(r.Key) != o.BlockId {
					t.Fatalf("object keyed %q, want its block %q", r.Key, o.BlockId)
				}
				if o.Control != "" {
					return // pass controls for the aggregate stage
				}
				seen[o.ObjectId]++
			})
		}
	}
	var dead int64
	for i, b := range batches {
		produce(b)
		p, err := New(Config{}, conn)
		if err != nil {
			t.Fatal(err)
		}
		run := stagetest.Start(ctx, p)
		// Let it work for a while, then stop it wherever it is.
		deadline := time.Now().Add(20 * time.Second)
		for p.Stats.Frames.Load()+p.Stats.Replays.Load()+p.Stats.DeadLetters.Load() < int64(len(b))/2 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if i == len(batches)-1 {
			for time.Now().Before(deadline) && len(seen) < len(want) {
				drain(500 * time.Millisecond)
			}
		}
		if err := run.Stop(); err != nil {
			t.Fatalf("restart %d: %v", i, err)
		}
		dead += p.Stats.DeadLetters.Load()
	}
	drain(time.Second)
	got := make([]string, 0, len(seen))
	for id := range seen {
		got = append(got, id)
	}
	sort.Strings(got)
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("%d distinct objects after %d restarts, want %d", len(got), len(batches), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("object ids differ from an uninterrupted run: %s vs %s", got[i], want[i])
		}
	}
	if dead != 1 {
		t.Fatalf("%d dead letters, want 1", dead)
	}
}

// The table codec round-trips a camera's tracker mid-row: the restored
// tracker counts exactly what the original does; JSON states of the first
// builds are still read.
func TestStateCodecRoundTrip(t *testing.T) {
	dets := truthDetections(t, "cam-c", 7)
	half := len(dets) / 2
	st := &cameraState{Version: stateVersion}
	for _, d := range dets[:half] {
		st.Tracker.Step(Params{}, FrameOf(d))
	}
	st.Emitted = st.Emitted.add(emitted{Seq: 3, Block: "B1", Objects: [][]byte{{1, 2, 3}}})
	legacy := func(gobbed bool) func(any) ([]byte, error) {
		return func(any) ([]byte, error) {
			ls := legacyState{Version: st.Version, Tracker: st.Tracker, Emitted: []emitted{{Seq: 3, Block: "B1", Objects: [][]byte{{1, 2, 3}}}}}
			if !gobbed {
				return json.Marshal(ls)
			}
			var buf bytes.Buffer
			buf.WriteByte(gobMarker)
			err := gob.NewEncoder(&buf).Encode(ls)
			return buf.Bytes(), err
		}
	}
	// The first log format (marker 0x02): the tracker in gob, then entries
	// without a stream.
	firstLog := func(any) ([]byte, error) {
		var g bytes.Buffer
		if err := gob.NewEncoder(&g).Encode(struct {
			Version int
			Tracker State
		}{st.Version, st.Tracker}); err != nil {
			return nil, err
		}
		out := append([]byte{logMarker}, binary.AppendUvarint(nil, uint64(g.Len()))...)
		out = append(out, g.Bytes()...)
		return append(out, 3, 2, 'B', '1', 1, 3, 1, 2, 3), nil // seq 3, block B1, one object {1,2,3}
	}
	for _, enc := range []func(any) ([]byte, error){stateCodec{}.Encode, legacy(false), legacy(true), firstLog} {
		b, err := enc(st)
		if err != nil {
			t.Fatal(err)
		}
		back := stagetest.Decoded[*cameraState](t, stateCodec{}, b)
		var entries []emitted
		if err := back.Emitted.each(func(e emitted) { entries = append(entries, e) }); err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Seq != 3 || entries[0].Block != "B1" || !bytes.Equal(entries[0].Objects[0], []byte{1, 2, 3}) || len(back.Tracker.Tracks) != len(st.Tracker.Tracks) || back.Tracker.LastSeq != st.Tracker.LastSeq {
			t.Fatalf("state not restored: %d tracks of %d", len(back.Tracker.Tracks), len(st.Tracker.Tracks))
		}
		orig := *st
		orig.Tracker.Tracks = nil
		for _, tr := range st.Tracker.Tracks { // a deep enough copy to step twice
			c := *tr
			c.Votes = map[int]float64{}
			for k, v := range tr.Votes {
				c.Votes[k] = v
			}
			orig.Tracker.Tracks = append(orig.Tracker.Tracks, &c)
		}
		var a, b2 int
		for _, d := range dets[half:] {
			c1, _ := orig.Tracker.Step(Params{}, FrameOf(d))
			c2, _ := back.Tracker.Step(Params{}, FrameOf(d))
			a, b2 = a+len(c1), b2+len(c2)
		}
		if a != b2 || a == 0 {
			t.Fatalf("restored tracker counted %d, original %d", b2, a)
		}
	}
	if _, err := (stateCodec{}).Decode([]byte("garbage")); err == nil {
		t.Fatal("garbage accepted")
	}
}

// The emitted log keeps frames in order, drops those before a sequence, and
// reports damage instead of misreading it.
func TestEmittedLog(t *testing.T) {
	var l emittedLog
	for seq := uint64(1); seq <= 5; seq++ {
		l = l.add(emitted{Seq: seq, Block: "B1", Objects: [][]byte{[]byte("a"), bytes.Repeat([]byte{byte(seq)}, int(seq)*100)}})
	}
	l, err := l.keep(func(e emitted) bool { return e.Seq >= 3 })
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	if err := l.each(func(e emitted) {
		seqs = append(seqs, e.Seq)
		if len(e.Objects) != 2 || len(e.Objects[1]) != int(e.Seq)*100 || e.Objects[1][0] != byte(e.Seq) {
			t.Fatalf("frame %d: objects %v", e.Seq, e.Objects)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seqs) != "[3 4 5]" {
		t.Fatalf("frames %v after keep(>= 3)", seqs)
	}
	if all, _ := l.keep(func(e emitted) bool { return e.Seq >= 9 }); len(all) != 0 {
		t.Fatal("keep past the end kept entries")
	}
	if err := l[:len(l)-50].each(func(emitted) {}); err == nil {
		t.Fatal("a truncated log read without error")
	}
}

// Only the classes the block's crop counts become objects: a COCO-style
// model's person boxes are tracked but never counted as apples; the same
// boxes named apple are.
func TestOnlyTheCropsClassIsCounted(t *testing.T) {
	dets := truthDetections(t, "cam-p", 31)
	counted := func(names []string) (objects, other int64) {
		conn, _ := brokertest.Open(t, topology.Config{CameraPartitions: 2, BlockPartitions: 2, DLQPartitions: 1})
		cl, err := conn.Client()
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		for _, d := range dets {
			d := proto.Clone(d).(*schema.Detections)
			d.ClassNames = names
			val, err := schema.Encode(d)
			if err != nil {
				t.Fatal(err)
			}
			if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "detections", Key: []byte(d.CameraId), Value: val}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		p, err := New(Config{}, conn) // blocks not in the field map: apple
		if err != nil {
			t.Fatal(err)
		}
		run := stagetest.Start(context.Background(), p)
		stagetest.Until(30*time.Second, func() bool { return p.Stats.Frames.Load() >= int64(len(dets)) })
		if err := run.Stop(); err != nil {
			t.Fatal(err)
		}
		return p.Stats.Objects.Load(), p.Stats.OtherClasses.Load()
	}
	want := int64(len(expectedIDs(dets)))
	if objs, other := counted([]string{"person", "apple"}); objs != 0 || other != want {
		t.Fatalf("boxes of class person: %d objects, %d of other classes; want 0 and %d", objs, other, want)
	}
	if objs, other := counted([]string{"apple", "person"}); objs != want || other != 0 {
		t.Fatalf("the same boxes as apple: %d objects, %d of other classes; want %d and 0", objs, other, want)
	}
}

// Two files from one camera (sequences restarting at 0) into two blocks are
// both counted, each as a fresh camera would count it; a re-ingest of the
// first is a replay; records keyed by another camera or by nothing, out of
// order or absurdly far ahead are dead-lettered with the reason, and the
// camera goes on counting.
func TestTrackStageStreams(t *testing.T) {
	conn, _ := brokertest.Open(t, topology.Config{CameraPartitions: 2, BlockPartitions: 2, DLQPartitions: 1})
	ctx := context.Background()
	cl, _ := conn.Client()
	defer cl.Close()

	file1, file2 := truthDetections(t, "cam-1", 11), truthDetections(t, "cam-1", 12)
	want := map[string]int{}
	var recs []*kgo.Record
	add := func(d *schema.Detections, key string) {
		val, err := schema.Encode(d)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: "detections", Key: []byte(key), Value: val})
	}
	for i, f := range [][]*schema.Detections{file1, file2} {
		block, stream := fmt.Sprintf("B%d", i+1), fmt.Sprintf("s%d", i+1)
		fresh := &State{}
		for _, d := range f {
			d.BlockId, d.StreamId = block, stream
			c, _ := fresh.Step(Params{}, FrameOf(d))
			want[block] += len(c)
		}
	}
	bad := func(d *schema.Detections, mutate func(*schema.Detections)) *schema.Detections {
		c := proto.Clone(d).(*schema.Detections)
		mutate(c)
		return c
	}
	for i, d := range file1 {
		add(d, "cam-1")
		if i == 5 {
			add(bad(d, func(c *schema.Detections) { c.Sequence = 1_000_000_000_000 }), "cam-1") // one absurd sequence
			add(bad(d, func(c *schema.Detections) { c.CameraId = "cam-2" }), "cam-1")           // another camera's record under this key
			add(d, "")                                                                          // no key
		}
	}
	for i, d := range file1[:len(file1)/2] { // the first file again: a replay
		if i%7 == 0 {
			add(d, "cam-1")
		}
	}
	for i, d := range file2 {
		if i == 10 { // frame 10 arrives after 11: out of order
			continue
		}
		add(d, "cam-1")
		if i == 11 {
			add(file2[10], "cam-1")
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	p, err := New(Config{}, conn)
	if err != nil {
		t.Fatal(err)
	}
	run := stagetest.Start(ctx, p)
	stagetest.Until(30*time.Second, func() bool {
		return p.Stats.Frames.Load()+p.Stats.Replays.Load()+p.Stats.DeadLetters.Load() >= int64(len(recs))
	})
	if err := run.Stop(); err != nil {
		t.Fatal(err)
	}

	got, ids := map[string]int{}, map[string]bool{}
	var reasons []string
	for _, dl := range brokertest.ReadAs(t, conn, topology.DLQ, schema.DecodeDeadLetter) {
		reasons = append(reasons, dl.Reason)
	}
	for _, o := range brokertest.ReadAs(t, conn, topology.Objects, schema.DecodeCountedObject) {
		if o.Control != "" {
			continue // pass controls
		}
		if ids[o.ObjectId] {
			continue // a replay's objects again: aggregate drops them
		}
		ids[o.ObjectId] = true
		got[o.BlockId]++
		if o.StreamId != map[string]string{"B1": "s1", "B2": "s2"}[o.BlockId] || o.SourceOffset == nil {
			t.Errorf("object %s of block %s: stream %q, source offset %v", o.ObjectId, o.BlockId, o.StreamId, o.SourceOffset)
		}
	}
	if got["B1"] != want["B1"] || got["B1"] == 0 {
		t.Errorf("block B1 (first file): %d objects, want %d", got["B1"], want["B1"])
	}
	// Frame 10 of the second file is refused, which may cost an object or
	// two; never the whole file.
	if d := want["B2"] - got["B2"]; d < 0 || d > 2 || got["B2"] == 0 {
		t.Errorf("block B2 (second file): %d objects, want %d", got["B2"], want["B2"])
	}
	sort.Strings(reasons)
	all := fmt.Sprint(reasons)
	for _, r := range []string{"jumps", "keyed \"cam-1\": the key must be", "keyed \"\"", "out of order"} {
		if !strings.Contains(all, r) {
			t.Errorf("no dead letter saying %q among %q", r, reasons)
		}
	}
	if len(reasons) != 4 {
		t.Errorf("%d dead letters, want 4: %q", len(reasons), reasons)
	}
}
