package detect

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/simulator"
	"github.com/cropstream/cropstream/stage/stagetest"
	"github.com/cropstream/cropstream/topology"
)

func TestFrameCost(t *testing.T) {
	var c frameCost
	if n := c.frames(40*time.Millisecond, 2); n != 2 {
		t.Fatalf("unmeasured: slice of %d frames, want one per lane (2)", n)
	}
	// 8 frames on 2 lanes in 80 ms: 20 ms per frame in a lane.
	c.add(80*time.Millisecond, 8, 2)
	if c.perLane != 20*time.Millisecond {
		t.Fatalf("per lane %v, want 20ms", c.perLane)
	}
	if n := c.frames(40*time.Millisecond, 2); n != 4 {
		t.Fatalf("40 ms at 20 ms a frame on 2 lanes: %d frames, want 4", n)
	}
	if n := c.frames(time.Millisecond, 2); n != 2 {
		t.Fatalf("a budget under one frame: %d frames, want one per lane", n)
	}
	// One frame uses one lane: it counts as a frame in a lane, not half.
	c.add(20*time.Millisecond, 1, 2)
	if c.perLane != 20*time.Millisecond {
		t.Fatalf("after a one-frame batch: per lane %v, want 20ms", c.perLane)
	}
	// A GPU's few milliseconds a frame give tens of frames a slice.
	c = frameCost{}
	c.add(64*time.Millisecond, 64, 1)
	if n := c.frames(40*time.Millisecond, 1); n != 40 {
		t.Fatalf("1 ms a frame: %d frames in 40 ms, want 40", n)
	}
}

// simFrames renders n frames of the test scenario as JPEG records of camera
// cam (sequences from 1), cycling over the scenario's frames.
func simFrames(t *testing.T, cam string, n int) []*schema.Frame {
	t.Helper()
	sc, err := simulator.Load(filepath.Join("testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sim := simulator.New(sc)
	defer sim.Close()
	var jpgs [][]byte
	for len(jpgs) < 8 {
		f, err := sim.Next()
		if err != nil {
			break
		}
		buf, err := gocv.IMEncode(gocv.JPEGFileExt, *f.Image)
		if err != nil {
			t.Fatal(err)
		}
		jpgs = append(jpgs, append([]byte(nil), buf.GetBytes()...))
		buf.Close()
	}
	now := time.Now()
	out := make([]*schema.Frame, n)
	for i := range out {
		seq := uint64(i + 1)
		out[i] = &schema.Frame{FrameId: ingest.FrameID(cam, seq, now), CameraId: cam, StreamId: "s-" + cam, Sequence: seq,
			CaptureUnixNs: now.UnixNano(), Width: 640, Height: 360, Encoding: schema.Encoding_ENCODING_JPEG, Image: jpgs[i%len(jpgs)]}
	}
	return out
}

func records(t *testing.T, topic topology.Topic, fs []*schema.Frame) []*kgo.Record {
	t.Helper()
	recs := make([]*kgo.Record, len(fs))
	for i, f := range fs {
		v, err := schema.Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = &kgo.Record{Topic: string(topic), Key: []byte(f.CameraId), Value: v, Offset: int64(i)}
	}
	return recs
}

// A backfill batch inferred in slices, with the live lane's turn between
// them, gives the same boxes as the batch in one go.
func TestSlicedBatchSameAsWhole(t *testing.T) {
	conn, top := brokertest.Open(t, topology.Config{CameraPartitions: 1, BlockPartitions: 1, DLQPartitions: 1})
	p, err := New(Config{Detector: engine(t, nil, 2), MaxBatch: 8, Workers: 2, LiveSlice: time.Nanosecond}, conn, top)
	if err != nil {
		t.Fatal(err)
	}
	p.serving = p.newSlot(p.cfg.Detector, nil, nil)
	defer p.serving.close()
	recs := records(t, topology.Frames, simFrames(t, "cam-a", 8))
	boxes := func(outs []*kgo.Record) []string {
		var s []string
		for _, o := range outs {
			d, err := schema.DecodeDetections(o.Value)
			if err != nil {
				t.Fatal(err)
			}
			s = append(s, fmt.Sprint(d.FrameId, d.Detections))
		}
		return s
	}
	whole, err := p.process(recs, topology.Backfill, nil)
	if err != nil {
		t.Fatal(err)
	}
	turns := 0
	sliced, err := p.process(recs, topology.Backfill, func() error { turns++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	// Two lanes and a budget under one frame: slices of one frame per lane.
	if turns != 3 {
		t.Errorf("the live lane had %d turns in a batch of 8 in slices of 2, want 3", turns)
	}
	if a, b := boxes(whole), boxes(sliced); !slices.Equal(a, b) || len(a) != 8 {
		t.Fatalf("sliced batch differs from the whole one:\n%v\n%v", b, a)
	}
	if n := p.Stats.CaptureToDetected.Backfill.Snapshot().Count; n != 16 {
		t.Fatalf("backfill latency histogram has %d frames, want 16", n)
	}
	if n := p.Stats.CaptureToDetected.Live.Snapshot().Count; n != 0 {
		t.Fatalf("live latency histogram has %d frames, want none", n)
	}
}

// Live frames that reach the broker after a backlog of recorded video are
// detected before most of it. One partition per topic: a frames topic shared
// by both would hold the live frames behind all of the backlog.
func TestLiveFramesBeforeBackfill(t *testing.T) {
	conn, top := brokertest.Open(t, topology.Config{CameraPartitions: 1, BlockPartitions: 1, DLQPartitions: 1})
	ctx := context.Background()
	cl, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	back, live := simFrames(t, "cam-recorded", 81), simFrames(t, "cam-live", 9)
	produce := func(topic topology.Topic, fs []*schema.Frame) {
		recs := records(t, topic, fs)
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	p, err := New(Config{Detector: engine(t, nil, 1), MaxBatch: 4, Workers: 2}, conn, top)
	if err != nil {
		t.Fatal(err)
	}
	run := stagetest.Start(ctx, p)
	defer func() {
		if err := run.Stop(); err != nil {
			t.Error(err)
		}
	}()
	wait := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(90 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("after 90 s: %s; %d frames detected, %d live", what, p.Stats.Frames.Load(), p.Stats.LiveFrames.Load())
			}
		}
	}
	// One frame of each lane first: both members of the group hold their
	// partitions before the backlog arrives.
	produce(topology.FramesLive, live[:1])
	produce(topology.Frames, back[:1])
	wait("the first frame of each lane", func() bool { return p.Stats.Frames.Load() == 2 })

	produce(topology.Frames, back[1:])
	produce(topology.FramesLive, live[1:])
	wait("the live frames", func() bool { return p.Stats.LiveFrames.Load() == int64(len(live)) })
	before := p.Stats.Frames.Load() - p.Stats.LiveFrames.Load() - 1
	wait("the backlog", func() bool { return p.Stats.Frames.Load() == int64(len(back)+len(live)) })
	// The backlog's first poll (4 frames) may be in hand when the live
	// frames arrive; the live lane then takes its turns between slices.
	if before > 16 {
		t.Fatalf("%d of the backlog's %d frames were detected before the last live frame, want a batch or so", before, len(back)-1)
	}
	t.Logf("%d backlog frames before the last of %d live ones", before, len(live)-1)
	if n := p.Stats.CaptureToDetected.Live.Snapshot().Count; n != uint64(len(live)) {
		t.Fatalf("live latency histogram has %d frames, want %d", n, len(live))
	}

	// Both lanes' offsets are committed: the group has no lag left.
	adm, acl, err := conn.Admin()
	if err != nil {
		t.Fatal(err)
	}
	defer acl.Close()
	lag := map[string]int64{}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		rows, err := broker.GroupLag(ctx, adm, string(topology.Detect))
		if err != nil {
			t.Fatal(err)
		}
		clear(lag)
		var total int64
		for _, r := range rows {
			lag[r.Topic] += r.Lag
			total += r.Lag
		}
		if total == 0 && len(lag) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lag of group detect: %v", lag)
		}
	}
}
