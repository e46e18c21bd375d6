package fleet

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/fleet/fleettest"
	"github.com/cropstream/cropstream/ingest/mjpegtest"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

func startCamera(t *testing.T, fps float64) *mjpegtest.Server {
	t.Helper()
	return mjpegtest.Serve(t, fps, 160, 120)
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	if err := mjpegtest.Wait(ctx, cond); err != nil {
		t.Fatalf("%s: not within %s", what, limit)
	}
}

func entry(s *Service, id string) Entry {
	e, _ := s.entry(id)
	return e
}

// One service reads three MJPEG cameras: one goes away for a few seconds and
// comes back (reconnecting reported, frames resume), one sends garbage
// (dead-lettered, reconnected with backoff, the others unaffected), one is
// removed (its reader stops, every frame it read is in the topic). Every
// frame served by the good cameras is ingested exactly once.
func TestServiceReconnectsRemovesAndDeadLetters(t *testing.T) {
	conn, top := brokertest.Open(t, topology.Config{CameraPartitions: 4, BlockPartitions: 2, DLQPartitions: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc, err := New(Config{Instance: "test", Backoff: Backoff{Initial: 100 * time.Millisecond, Max: 500 * time.Millisecond},
		StallTimeout: 2 * time.Second, ReportEvery: 200 * time.Millisecond}, conn, top)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()

	flaky, steady, junk := startCamera(t, 20), startCamera(t, 20), startCamera(t, 20)
	junk.Garbage.Store(true)
	for id, s := range map[string]*mjpegtest.Server{"flaky": flaky, "steady": steady, "junk": junk} {
		if _, err := Add(ctx, conn, Camera{ID: id, URL: s.URL(), Field: "F1", Block: "B1"}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "frames from flaky and steady", 20*time.Second, func() bool { return flaky.Served() > 20 && steady.Served() > 20 })
	waitFor(t, "flaky reported connected", 5*time.Second, func() bool { return entry(svc, "flaky").Status == StatusConnected })

	flaky.Stop()
	outage := time.Now()
	waitFor(t, "flaky reported reconnecting", 5*time.Second, func() bool { return entry(svc, "flaky").Status == StatusReconnecting })
	e := entry(svc, "flaky")
	if e.State.ReconnectingSince.Before(outage.Add(-time.Second)) || e.State.LastError == "" || e.State.FPS != 0 {
		t.Fatalf("flaky while down: %+v", e.State)
	}
	time.Sleep(2 * time.Second)
	before := flaky.Served()
	if err := flaky.Start(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	waitFor(t, "flaky serving again", 5*time.Second, func() bool { return flaky.Served() > before+10 })
	waitFor(t, "flaky reported connected again", 5*time.Second, func() bool { return entry(svc, "flaky").Status == StatusConnected })

	waitFor(t, "junk dead-lettered and reconnected", 15*time.Second, func() bool {
		st := entry(svc, "junk").State
		return st != nil && st.DeadLetters >= 20 && st.Reconnects >= 1
	})

	// Nothing in flight when it is removed: every frame served was read.
	steady.Paused.Store(true)
	time.Sleep(300 * time.Millisecond)
	if err := Remove(ctx, conn, "steady"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "steady's reader gone", 10*time.Second, func() bool { return steady.Clients() == 0 && entry(svc, "steady").Camera.ID == "" })
	steadyServed := steady.Served()

	// Nothing in flight at the stop either: a frame served as the reader is
	// cancelled is neither read nor lost, only uncounted.
	flaky.Paused.Store(true)
	time.Sleep(500 * time.Millisecond)
	flaky.Stop()
	junk.Stop()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}

	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	got, err := fleettest.ReadIngested(rctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int64{"flaky": flaky.Served(), "steady": steadyServed} {
		if n := int64(len(got[id].Numbers)); n != want {
			t.Errorf("camera %s: %d frames ingested, %d served", id, n, want)
		}
	}
	if got["junk"] != nil {
		t.Errorf("junk: %d frames ingested from garbage", len(got["junk"].Numbers))
	}
	// No frame of flaky is stamped inside its outage.
	for _, at := range got["flaky"].Captured {
		if at.After(outage.Add(100*time.Millisecond)) && at.Before(back.Add(-100*time.Millisecond)) {
			t.Errorf("flaky frame captured at %s, during the outage %s..%s", at, outage, back)
		}
	}
	dl := deadLetters(t, rctx, conn)
	if dl["junk"] < 20 {
		t.Errorf("junk: %d dead letters, want >= 20", dl["junk"])
	}
	t.Logf("flaky %d frames, steady %d, junk %d dead letters", len(got["flaky"].Numbers), len(got["steady"].Numbers), dl["junk"])
}

func deadLetters(t *testing.T, ctx context.Context, conn *broker.Conn) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, d := range brokertest.ReadAs(t, conn, topology.DLQ, schema.DecodeDeadLetter) {
		out[string(d.OriginalKey)]++
	}
	return out
}
