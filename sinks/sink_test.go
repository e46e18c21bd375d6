package sinks_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/jsonfile"
	"github.com/cropstream/cropstream/stage/stagetest"
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
	const maxAge = time.Minute
	s := fileSink(t, conn, sinks.Config{Tables: []*sinks.Table{sinks.TableNamed("detections")}, MaxRows: 400, MaxAge: maxAge})
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

// An undecodable record of a topic a stage reads (frames: detect) is that
// stage's to dead-letter, once; the sink dead-letters only those of topics
// no stage reads (yield).
func TestSinkLeavesDeadLettersToTheStage(t *testing.T) {
	conn, cl := openBroker(t, 1)
	ctx := context.Background()
	garbage := []byte{0xff, 0xff, 0xff}
	if err := cl.ProduceSync(ctx,
		&kgo.Record{Topic: string(topology.Frames), Key: []byte("cam"), Value: garbage},
		&kgo.Record{Topic: string(topology.Yield), Key: []byte("B1"), Value: garbage},
	).FirstErr(); err != nil {
		t.Fatal(err)
	}
	s := fileSink(t, conn, sinks.Config{MaxAge: 100 * time.Millisecond})
	stop := runSink(t, s)
	deadline := time.Now().Add(20 * time.Second)
	for s.Stats.Records.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	var topics []string
	for _, r := range brokertest.ReadAll(t, conn, topology.DLQ) {
		if d, err := schema.DecodeDeadLetter(r.Value); err == nil {
			topics = append(topics, d.SourceTopic)
		}
	}
	if len(topics) != 1 || topics[0] != string(topology.Yield) {
		t.Fatalf("the sink dead-lettered records of %q, want only the yield record's", topics)
	}
}

// fileSink is a sink of cfg storing into files in a directory of the test.
func fileSink(t *testing.T, conn *broker.Conn, cfg sinks.Config) *sinks.Sink {
	t.Helper()
	st, err := jsonfile.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = st
	s, err := sinks.New(cfg, conn)
	if err != nil {
		t.Fatal(err)
	}
	return s
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
	run := stagetest.Start(context.Background(), s)
	return func() {
		if err := run.Stop(); err != nil {
			t.Error(err)
		}
	}
}

// slowStore is a store whose inserts take delay; it notes each insert's
// rows and which inserts each record's rows went in.
type slowStore struct {
	sinks.Store
	delay time.Duration
	mu    sync.Mutex
	sizes []int
	in    map[[2]int64]map[int]bool // partition, offset: the inserts holding its rows
}

func (s *slowStore) Insert(ctx context.Context, t *sinks.Table, rows *sinks.Block) error {
	time.Sleep(s.delay)
	s.mu.Lock()
	for i := range rows.Len() {
		k := [2]int64{int64(rows.Partition(i)), rows.Offset(i)}
		if s.in[k] == nil {
			s.in[k] = map[int]bool{}
		}
		s.in[k][len(s.sizes)] = true
	}
	s.sizes = append(s.sizes, rows.Len())
	s.mu.Unlock()
	return s.Store.Insert(ctx, t, rows)
}

// While an insert is in flight the next batch grows past MaxRows, up to
// MaxRowsBehind, instead of the loop waiting: a slow store gets fewer,
// larger inserts, each record's rows still in one of them, every row once.
func TestSinkBatchGrowsWhileInsertInFlight(t *testing.T) {
	conn, cl := openBroker(t, 3)
	ctx := context.Background()
	var recs []*kgo.Record
	for i := range 3000 {
		cam := fmt.Sprintf("cam-%d", i%5)
		v, err := schema.Encode(&schema.Detections{FrameId: fmt.Sprint(i), CameraId: cam, Sequence: uint64(i), CaptureUnixNs: time.Now().UnixNano(),
			Detections: []*schema.Detection{{Box: &schema.Box{X2: 1, Y2: 1}}, {Box: &schema.Box{X2: 2, Y2: 2}}}})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: string(topology.Detections), Key: []byte(cam), Value: v})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	files, err := jsonfile.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := &slowStore{Store: files, delay: 100 * time.Millisecond, in: map[[2]int64]map[int]bool{}}
	const maxRows, behind = 400, 1200
	s, err := sinks.New(sinks.Config{Store: st, Tables: []*sinks.Table{sinks.TableNamed("detections")}, MaxRows: maxRows, MaxRowsBehind: behind, MaxAge: time.Minute}, conn)
	if err != nil {
		t.Fatal(err)
	}
	stop := runSink(t, s)
	deadline := time.Now().Add(30 * time.Second)
	for s.Stats.Rows.Load() < 6000 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	st.mu.Lock()
	defer st.mu.Unlock()
	total, largest := 0, 0
	for _, n := range st.sizes {
		total += n
		largest = max(largest, n)
	}
	if total != 6000 || len(st.in) != 3000 {
		t.Fatalf("%d rows of %d records stored in %v, want 6000 of 3000", total, len(st.in), st.sizes)
	}
	if largest <= maxRows || largest > behind+2 {
		t.Fatalf("inserts of %v rows: want one above MaxRows %d, none above MaxRowsBehind %d and a record", st.sizes, maxRows, behind)
	}
	for k, ins := range st.in {
		if len(ins) != 1 {
			t.Fatalf("record %v went in inserts %v", k, ins)
		}
	}
	t.Logf("inserts of %v rows", st.sizes)
}
