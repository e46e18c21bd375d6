package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/evaluation"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/processors/aggregate"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/simulator"
	"github.com/cropstream/cropstream/topology"
)

// The track and aggregate stages run as a separate process and are killed
// with SIGKILL at random points, several times, then restarted, and a second
// instance joins mid-stream and takes partitions; the objects counted and the
// block's final count equal an uninterrupted run's exactly.
func TestKillTrackAndAggregate(t *testing.T) {
	longTest(t, "kills and restarts processes")
	dir, conn := brokerDir(t)

	sc, recs, want := truthStream(t)
	// Half the stream now, half once the last instances run.
	half := len(recs) / 2
	brokertest.Produce(t, conn, recs[:half]...)

	logs := 0
	start := func() *exec.Cmd {
		logs++
		return startProcess(t, dir, fmt.Sprintf("run-%d.log", logs), "--log-level", "debug", "run", "--stages", "track,aggregate")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 4; i++ {
		c := start()
		time.Sleep(time.Duration(1500+rng.IntN(4000)) * time.Millisecond)
		killed(c)
	}
	a := start()
	defer stopped(a)
	time.Sleep(2 * time.Second)
	brokertest.Produce(t, conn, recs[half:]...)
	b := start() // joins mid-stream: the group rebalances between a and b
	second := logs
	defer stopped(b)
	finalCounts(t, conn, sc, want, filepath.Join(dir, fmt.Sprintf("run-%d.log", logs)))
	if bl, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("run-%d.log", second))); !regexp.MustCompile(`Processor track\] setup generation \d+, claims=\S*detections\S*int32\{\d`).Match(bl) {
		t.Fatalf("the second instance never took detections partitions:\n%s", bl)
	}
	t.Logf("%d objects, exact after 4 SIGKILLs and a second instance joining", len(want))
}

// truthStream is the detections of two cameras, as a perfect detector would
// emit them, and the objects an uninterrupted tracker counts from them.
func truthStream(t *testing.T) (*simulator.Scenario, []*kgo.Record, map[string]bool) {
	t.Helper()
	sc, _ := simulator.Load("default")
	sc.Rows, sc.PlantsPerRow, sc.Camera.Width, sc.Camera.Height = 2, 4, 640, 360
	want := map[string]bool{}
	var recs []*kgo.Record
	for _, cam := range []string{"cam-k1", "cam-k2"} {
		sc.Seed++
		dets, err := evaluation.TruthDetections(sc, cam, 0.25)
		if err != nil {
			t.Fatal(err)
		}
		st := &track.State{}
		for _, d := range dets {
			c, _ := st.Step(track.Params{}, track.FrameOf(d))
			for _, tr := range c {
				want[fmt.Sprintf("%s-%d", cam, tr.ID)] = true
			}
			val, _ := schema.Encode(d)
			recs = append(recs, &kgo.Record{Topic: "detections", Key: []byte(cam), Value: val})
		}
	}
	return sc, recs, want
}

// finalCounts closes the block's window and checks the objects and the
// final estimate equal what an uninterrupted tracker counts.
func finalCounts(t *testing.T, conn *broker.Conn, sc *simulator.Scenario, want map[string]bool, lastLog string) *schema.YieldEstimate {
	t.Helper()
	ctx := context.Background()
	dctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := pipeline.WaitDrained(dctx, conn, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// Windows close by themselves as the cameras' passes end (one camera may
	// finish the block before the other starts: two windows); an operator's
	// close takes whatever is left.
	if err := aggregate.CloseWindow(ctx, conn, sc.Block, sc.Field); err != nil {
		t.Fatal(err)
	}
	var est *schema.YieldEstimate
	finals := map[string]uint64{}
	for len(finals) == 0 || dctx.Err() == nil {
		yr, err := broker.ReadAll(dctx, conn, topology.Yield, time.Second)
		if err != nil {
			break
		}
		total := uint64(0)
		for _, r := range yr {
			if y, err := schema.DecodeYieldEstimate(r.Value); err == nil && y.Final {
				est = y
				finals[y.EstimateId] = y.UnitsCounted
			}
		}
		for _, n := range finals {
			total += n
		}
		if total >= uint64(len(want)) {
			break
		}
		time.Sleep(200 * time.Millisecond) // ReadAll returns at once while the topic is empty
	}
	if est == nil {
		t.Fatalf("no final yield estimate; last run's log:\n%s", logTail(lastLog, 3000))
	}
	objs := brokertest.ReadAll(t, conn, topology.Objects)
	got := map[string]bool{}
	for _, r := range objs {
		if o, err := schema.DecodeCountedObject(r.Value); err == nil && o.Control == "" {
			got[o.ObjectId] = true
		}
	}
	diff := func(a, b map[string]bool) []string {
		var d []string
		for k := range a {
			if !b[k] {
				d = append(d, k)
			}
		}
		sort.Strings(d)
		return d
	}
	if m, x := diff(want, got), diff(got, want); len(m) > 0 || len(x) > 0 {
		t.Fatalf("after SIGKILLs: %d objects missing %v, %d extra %v", len(m), m, len(x), x)
	}
	total := 0
	for _, n := range finals {
		total += int(n)
	}
	if total != len(want) {
		t.Fatalf("aggregate counted %d in %d windows, uninterrupted tracker %d", total, len(finals), len(want))
	}
	return est
}
