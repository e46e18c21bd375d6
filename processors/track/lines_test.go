package track_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
	"github.com/cropstream/cropstream/zones"
	"github.com/cropstream/cropstream/zones/zonestest"
)

// The stage counts tracks across each camera's count lines, read from the
// count-lines topic: per camera, line, direction and class the distinct
// crossings equal the objects that crossed, through restarts of the stage
// at arbitrary points and a replay of frames, and a camera without lines
// gets none.
func TestStageCountsLines(t *testing.T) {
	conn, _ := brokertest.Open(t, topology.Config{CameraPartitions: 4, BlockPartitions: 2, DLQPartitions: 1})
	ctx := context.Background()
	middle := zones.Line{Name: "middle", A: zones.Point{X: 320, Y: 0}, B: zones.Point{X: 320, Y: 360}}
	top := zones.Line{Name: "top-lane", A: zones.Point{X: 400, Y: 0}, B: zones.Point{X: 400, Y: 180}, Band: 3}
	for _, c := range []zones.CameraLines{{Camera: "belt-a", Lines: []zones.Line{middle, top}}, {Camera: "belt-b", Lines: []zones.Line{middle}}} {
		if _, err := zones.Set(ctx, conn, c); err != nil {
			t.Fatal(err)
		}
	}
	belts := map[string]zonestest.Conveyor{
		"belt-a": zonestest.NewConveyor(21, "belt-a", "s1", 1e18, zonestest.Segment{Frames: 500, Dir: 1}),
		"belt-b": zonestest.NewConveyor(22, "belt-b", "s1", 1e18, zonestest.Segment{Frames: 500, Dir: -1}),
		"belt-c": zonestest.NewConveyor(23, "belt-c", "s1", 1e18, zonestest.Segment{Frames: 300, Dir: 1}),
	}
	var batches [][]*kgo.Record
	for cam, c := range belts {
		for k, d := range c.Records {
			d.FieldId, d.BlockId, d.RowId = "F-pack", "packing", cam
			val, err := schema.Encode(d)
			if err != nil {
				t.Fatal(err)
			}
			for len(batches) <= k/90 {
				batches = append(batches, nil)
			}
			batches[k/90] = append(batches[k/90], &kgo.Record{Topic: string(topology.Detections), Key: []byte(cam), Value: val})
			if k%50 == 49 { // a replay of the frame before: re-sent crossings, same ids
				batches[k/90] = append(batches[k/90], &kgo.Record{Topic: string(topology.Detections), Key: []byte(cam), Value: mustEncode(t, c.Records[k-1])})
			}
		}
	}
	cl, _ := conn.Client()
	defer cl.Close()
	var replays int64
	for i, b := range batches {
		if err := cl.ProduceSync(ctx, b...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		p, err := track.New(track.Config{}, conn)
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- p.Run(rctx) }()
		// Let it work for a while, then stop it wherever it is; the last
		// run until nothing is left.
		worked := func() int64 { return p.Stats.Frames.Load() + p.Stats.Replays.Load() }
		for deadline := time.Now().Add(30 * time.Second); worked() < int64(len(b))/2 && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		for last := int64(-1); i == len(batches)-1 && worked() != last; {
			last = worked()
			time.Sleep(2 * time.Second)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		replays += p.Stats.Replays.Load()
	}
	if replays == 0 {
		t.Fatal("no frame was replayed")
	}

	type key struct {
		camera, line, dir string
		class             uint32
	}
	got, ids := map[key]int{}, map[string]int{}
	for _, r := range brokertest.ReadAll(t, conn, topology.LineCrossings) {
		c, err := schema.DecodeLineCrossing(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Key) != c.CameraId || c.BlockId != "packing" || c.ClassName != zonestest.ClassNames[c.ClassId] || c.SourceOffset == 0 && c.SourceIndex == 0 && c.Sequence > 1 {
			t.Errorf("crossing %+v keyed %q", c, r.Key)
		}
		if ids[c.CrossingId]++; ids[c.CrossingId] == 1 {
			got[key{c.CameraId, c.Line, c.Direction, c.ClassId}]++
		}
	}
	resent := 0
	for _, n := range ids {
		resent += n - 1
	}
	for _, cam := range []string{"belt-a", "belt-b"} {
		c := belts[cam]
		for class := range 2 {
			in, out := got[key{cam, "middle", "in", uint32(class)}], got[key{cam, "middle", "out", uint32(class)}]
			if in != c.In[class] || out != c.Out[class] {
				t.Errorf("%s class %d: counted in %d out %d, crossed in %d out %d", cam, class, in, out, c.In[class], c.Out[class])
			}
		}
	}
	// The lane line covers the upper lane only: fewer than the middle, more
	// than none.
	lane := got[key{"belt-a", "top-lane", "in", 0}] + got[key{"belt-a", "top-lane", "in", 1}]
	if all := belts["belt-a"].In[0] + belts["belt-a"].In[1]; lane == 0 || lane >= all {
		t.Errorf("lane line counted %d of %d", lane, all)
	}
	for k := range got {
		if k.camera == "belt-c" {
			t.Errorf("belt-c has no lines but counted %+v", k)
		}
	}
	// The camera's state says the same totals (the live page and the query
	// API read them).
	states, err := broker.ReadAll(ctx, conn, topology.Table(topology.Track), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	views := map[string]*track.CameraView{}
	for _, r := range states {
		if v, err := track.DecodeState(r.Value, track.Params{}); err == nil {
			views[string(r.Key)] = v
		}
	}
	for _, cam := range []string{"belt-a", "belt-b"} {
		v := views[cam]
		if v == nil || len(v.Lines) == 0 || v.Lines[0].Name != "middle" {
			t.Fatalf("%s: state %+v", cam, v)
		}
		for class, name := range zonestest.ClassNames {
			if in, out := v.Lines[0].In[name], v.Lines[0].Out[name]; in != uint64(belts[cam].In[class]) || out != uint64(belts[cam].Out[class]) {
				t.Errorf("%s state, class %s: in %d out %d, crossed in %d out %d", cam, name, in, out, belts[cam].In[class], belts[cam].Out[class])
			}
		}
	}
	if v := views["belt-c"]; v == nil || len(v.Lines) != 0 {
		t.Errorf("belt-c state %+v", v)
	}
	t.Logf("crossings %v (%d re-sent by replays)", got, resent)
}

func mustEncode(t testing.TB, d *schema.Detections) []byte {
	t.Helper()
	b, err := schema.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The table follows the topic: lines set show up, lines cleared go.
func TestLinesTableFollows(t *testing.T) {
	conn, _ := brokertest.Open(t, topology.Config{CameraPartitions: 2, BlockPartitions: 2, DLQPartitions: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := zones.Line{Name: "gate", A: zones.Point{X: 1, Y: 2}, B: zones.Point{X: 3, Y: 4}}
	if _, err := zones.Set(ctx, conn, zones.CameraLines{Camera: "gate-1", Lines: []zones.Line{l}}); err != nil {
		t.Fatal(err)
	}
	tab := zones.NewTable()
	done := make(chan error, 1)
	go func() { done <- tab.Run(ctx, conn) }()
	<-tab.Ready()
	if got := tab.Get("gate-1"); len(got) != 1 || got[0] != l {
		t.Fatalf("after start: %+v", got)
	}
	if _, err := zones.Set(ctx, conn, zones.CameraLines{Camera: "gate-1"}); err != nil {
		t.Fatal(err)
	}
	wait := func(what string, ok func() bool) {
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal(what)
			}
		}
	}
	wait("cleared lines still in force", func() bool { return tab.Get("gate-1") == nil })
	if _, err := zones.Set(ctx, conn, zones.CameraLines{Camera: "gate-2", Lines: []zones.Line{l, l}}); err == nil {
		t.Fatal("two lines of one name were published")
	}
	l.Name = "gate-2-line"
	if _, err := zones.Set(ctx, conn, zones.CameraLines{Camera: "gate-2", Lines: []zones.Line{l}}); err != nil {
		t.Fatal(err)
	}
	wait("new lines not in force", func() bool { return len(tab.Get("gate-2")) == 1 })
	all, err := zones.Read(ctx, conn)
	if err != nil || len(all) != 1 || all["gate-2"].Lines[0] != l {
		t.Fatalf("read %+v %v", all, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// BenchmarkStageLines is the stage's rate on conveyor cameras, through goka
// (state from the table, one step, crossings and objects emitted, state
// written back), without count lines and with three per camera.
func BenchmarkStageLines(b *testing.B) {
	for _, n := range []int{0, 3} {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			conn, _ := brokertest.Open(b, topology.Config{CameraPartitions: 8, BlockPartitions: 2, DLQPartitions: 1})
			ctx := context.Background()
			const cameras = 8
			var recs []*kgo.Record
			for c := range cameras {
				cam := fmt.Sprintf("belt-%d", c)
				var lines []zones.Line
				for i := range n {
					x := float64(100 + 200*i)
					lines = append(lines, zones.Line{Name: fmt.Sprint(i), A: zones.Point{X: x}, B: zones.Point{X: x, Y: zonestest.Height}})
				}
				if n > 0 {
					if _, err := zones.Set(ctx, conn, zones.CameraLines{Camera: cam, Lines: lines}); err != nil {
						b.Fatal(err)
					}
				}
				conv := zonestest.NewConveyor(uint64(c), cam, "s1", 1e18, zonestest.Segment{Frames: max(b.N/cameras, 200), Dir: 1})
				for _, d := range conv.Records {
					d.FieldId, d.BlockId, d.RowId = "F", "B", cam
					recs = append(recs, &kgo.Record{Topic: string(topology.Detections), Key: []byte(cam), Value: mustEncode(b, d)})
				}
			}
			cl, _ := conn.Client()
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				b.Fatal(err)
			}
			cl.Close()
			p, err := track.New(track.Config{}, conn)
			if err != nil {
				b.Fatal(err)
			}
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			b.ResetTimer()
			start := time.Now()
			go func() { done <- p.Run(rctx) }()
			for p.Stats.Frames.Load() < int64(len(recs)) {
				time.Sleep(2 * time.Millisecond)
			}
			elapsed := time.Since(start)
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(recs))/elapsed.Seconds(), "frames/s")
			b.ReportMetric(float64(p.Stats.Crossings.Load()), "crossings")
		})
	}
}
