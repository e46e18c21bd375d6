package sinks_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/jsonfile"
	"github.com/cropstream/cropstream/topology"
)

// The end of a backlog is stored as soon as the sink has read it, not a
// MaxAge later; a trickle after it still makes at most one insert a MaxAge.
func TestSinkFlushesWhenItHasReadAll(t *testing.T) {
	conn, cl := openBroker(t, 3)
	ctx := context.Background()
	seq := 0
	records := func(n int) []*kgo.Record {
		var recs []*kgo.Record
		for range n {
			cam := fmt.Sprintf("cam-%d", seq%5)
			d := &schema.Detections{FrameId: fmt.Sprint(seq), CameraId: cam, Sequence: uint64(seq), CaptureUnixNs: time.Now().UnixNano(),
				Detections: []*schema.Detection{{Box: &schema.Box{X2: 1, Y2: 1}}, {Box: &schema.Box{X2: 2, Y2: 2}}}}
			v, err := schema.Encode(d)
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, &kgo.Record{Topic: string(topology.Detections), Key: []byte(cam), Value: v})
			seq++
		}
		return recs
	}
	if err := cl.ProduceSync(ctx, records(500)...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	st, err := jsonfile.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var dets *sinks.Table
	for _, tb := range sinks.Tables() {
		if tb.Topic == topology.Detections {
			dets = tb
		}
	}
	const maxAge = time.Minute
	s, err := sinks.New(sinks.Config{Store: st, Tables: []*sinks.Table{dets}, MaxRows: 400, MaxAge: maxAge}, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer runSink(t, s)()
	wait := func(rows int64, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for s.Stats.Rows.Load() < rows && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := s.Stats.Rows.Load(); got < rows {
			t.Fatalf("%d rows stored after %v, want %d (MaxAge is %v)", got, within, rows, maxAge)
		}
	}
	// 1,000 rows: two full batches of 400, and 200 that only the read-all
	// rule sends before MaxAge.
	wait(1000, 20*time.Second)
	inserts := s.Stats.Inserts.Load()
	for range 5 {
		if err := cl.ProduceSync(ctx, records(1)...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if got := s.Stats.Inserts.Load() - inserts; got > 1 {
		t.Fatalf("a trickle of 5 records made %d inserts within a second; want at most one per MaxAge", got)
	}
	if s.Stats.Rows.Load() >= 1010 {
		t.Fatalf("all 5 trickled records stored at once, with MaxAge %v: the last went early too", maxAge)
	}
}

// openBroker opens an embedded broker with cameraPartitions partitions for
// frames and detections (one for the others) and a client of it.
func openBroker(t *testing.T, cameraPartitions int32) (*broker.Conn, *kgo.Client) {
	t.Helper()
	conn, _ := brokertest.Open(t, topology.Config{CameraPartitions: cameraPartitions, BlockPartitions: 1, DLQPartitions: 1})
	cl, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return conn, cl
}

// runSink runs s until the func it returns is called; that func waits for
// Run and fails the test on its error.
func runSink(t *testing.T, s *sinks.Sink) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
