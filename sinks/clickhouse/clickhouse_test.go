package clickhouse_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/clickhouse"
	"github.com/cropstream/cropstream/sinks/clickhouse/chtest"
	"github.com/cropstream/cropstream/sinks/sinktest"
	"github.com/cropstream/cropstream/stage/stagetest"
	"github.com/cropstream/cropstream/topology"
)

// startSink runs a sink of cfg on conn until the test ends.
func startSink(t *testing.T, conn *broker.Conn, cfg sinks.Config) *sinks.Sink {
	t.Helper()
	sink, err := sinks.New(cfg, conn)
	if err != nil {
		t.Fatal(err)
	}
	run := stagetest.Start(context.Background(), sink)
	t.Cleanup(func() { run.Stop() })
	return sink
}

// sinkDrained waits up to limit for the sink to have stored all there is.
func sinkDrained(conn *broker.Conn, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	return pipeline.WaitSinkDrained(ctx, conn, 200*time.Millisecond)
}

func TestMigrateAndConnectionErrors(t *testing.T) {
	srv := chtest.Start(t)
	ctx := context.Background()
	st := srv.Open(t, "mig")
	applied, err := st.Migrate(ctx)
	if err != nil || len(applied) != len(clickhouse.Migrations("mig")) {
		t.Fatalf("first migrate: %v %v", applied, err)
	}
	if applied, err = st.Migrate(ctx); err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %v (%v), want nothing", applied, err)
	}
	var n uint64
	if err := st.Conn().QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = 'mig' AND name IN ('frames','detections','objects','yield_estimates','dead_letters','objects_per_camera_hour','objects_per_block_day','yield_latest')").Scan(&n); err != nil || n != 8 {
		t.Fatalf("tables: %d (%v), want 8", n, err)
	}

	_, err = clickhouse.Open(ctx, clickhouse.Config{Addr: []string{srv.Addr()}, User: "analyst", Password: "wrong"})
	if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), clickhouse.PasswordEnv) {
		t.Fatalf("wrong password: %v", err)
	}
	if st, err := clickhouse.Open(ctx, clickhouse.Config{Addr: []string{srv.Addr()}, User: "analyst", Password: "s3cret"}); err != nil {
		t.Fatalf("right password: %v", err)
	} else {
		st.Close()
	}
	start := time.Now()
	_, err = clickhouse.Open(ctx, clickhouse.Config{Addr: []string{"127.0.0.1:1"}, DialTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "unreachable") || time.Since(start) > 5*time.Second {
		t.Fatalf("unreachable server: %v after %s", err, time.Since(start))
	}
}

// ClickHouse is stopped for 30 s while records keep coming, then started
// again: the sink backs off, holds its rows, and stores every row once.
func TestSinkSurvivesClickHouseOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a 30 s outage")
	}
	srv := chtest.Start(t)
	conn, _ := brokertest.Open(t, topology.Config{})
	st := srv.Open(t, "outage")
	s := sinktest.Stream(1, 400)
	half := len(s) / 2
	brokertest.Produce(t, conn, s[:half]...)

	sink := startSink(t, conn, sinks.Config{Store: st, MaxAge: 200 * time.Millisecond, RetryMax: 2 * time.Second})
	if err := sinkDrained(conn, 60*time.Second); err != nil {
		t.Fatalf("first half not stored: %v", err)
	}
	srv.Stop()
	brokertest.Produce(t, conn, s[half:]...)
	time.Sleep(30 * time.Second)
	if sink.Stats.Retries.Load() == 0 {
		t.Fatal("the sink never noticed ClickHouse was down")
	}
	srv.Restart()
	if err := sinkDrained(conn, 90*time.Second); err != nil {
		t.Fatalf("not stored after ClickHouse came back: %v", err)
	}
	w := sinktest.Want(t, conn)
	st2 := srv.Open(t, "outage")
	all, distinct := sinktest.Counts(t, st2.Conn(), st2.Database())
	for name, n := range w {
		if all[name] != n || distinct[name] != n {
			t.Errorf("%s: %d rows (%d distinct), want %d", name, all[name], distinct[name], n)
		}
	}
	t.Logf("rows %v after a 30 s outage, %d retries", all, sink.Stats.Retries.Load())

	// The rollups: the replayed object counts once; the latest yield shows.
	ctx := context.Background()
	var objects uint64
	if err := st2.Conn().QueryRow(ctx, "SELECT uniqExactMerge(objects) FROM outage.objects_per_block_day").Scan(&objects); err != nil {
		t.Fatal(err)
	}
	if int(objects) != w["objects"]-1 {
		t.Errorf("objects_per_block_day: %d objects, want %d (one replayed twice)", objects, w["objects"]-1)
	}
	var kg float64
	if err := st2.Conn().QueryRow(ctx, "SELECT yield_kg FROM outage.yield_latest FINAL WHERE block_id = 'B1'").Scan(&kg); err != nil || kg != 2.2 {
		t.Errorf("yield_latest: %v %v", kg, err)
	}
	var days uint64
	if err := st2.Conn().QueryRow(ctx, "SELECT uniqExact(partition) FROM system.parts WHERE database = 'outage' AND table = 'frames' AND active").Scan(&days); err != nil || days != 2 {
		t.Errorf("frames partitions: %d (%v), want 2 days", days, err)
	}
	// The undecodable detections record is the track stage's to dead-letter
	// (topology.DeadLetteredBy): the sink leaves it, one dead letter per record.
	var sinkDead uint64
	if err := st2.Conn().QueryRow(ctx, "SELECT count() FROM outage.dead_letters WHERE stage = 'sink'").Scan(&sinkDead); err != nil || sinkDead != 0 {
		t.Errorf("sink dead letters: %d %v, want none", sinkDead, err)
	}
}

// A frame captured in 2200, one before 1970 and an object first seen in
// 2200 sit among good records: every good row is stored, each bad record is
// in dead_letters with a reason naming the column, and the table is not
// blocked (before, the insert failed with "dateTime overflow" for ever).
func TestSinkDeadLettersTimesClickHouseCannotHold(t *testing.T) {
	srv := chtest.Start(t)
	conn, _ := brokertest.Open(t, topology.Config{})
	st := srv.Open(t, "times")
	recs := sinktest.Stream(3, 40)
	bad := func(topic topology.Topic, key string, m schema.Message) {
		v, err := schema.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: string(topic), Key: []byte(key), Value: v})
	}
	y2200 := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i, at := range []int64{y2200, time.Date(1969, 12, 31, 23, 59, 0, 0, time.UTC).UnixNano()} {
		bad(topology.Frames, "cam-9", &schema.Frame{FrameId: fmt.Sprintf("bad-%d", i), CameraId: "cam-9", BlockId: "B1",
			CaptureUnixNs: at, Sequence: uint64(i), Width: 64, Height: 32, Encoding: schema.Encoding_ENCODING_JPEG, Image: []byte{0xff, 0xd8, 0xff, 0xd9}})
	}
	bad(topology.Objects, "B1", &schema.CountedObject{ObjectId: "bad-object", CameraId: "cam-9", BlockId: "B1", ClassName: "apple",
		FirstSeenUnixNs: y2200, LastSeenUnixNs: y2200, FramesSeen: 3, BestBox: &schema.Box{X2: 1, Y2: 1}})
	// Good records after the bad ones: they must not wait behind them.
	recs = append(recs, sinktest.Stream(4, 10)...)
	brokertest.Produce(t, conn, recs...)

	sink := startSink(t, conn, sinks.Config{Store: st, MaxAge: 100 * time.Millisecond, RetryMax: time.Second})
	if err := sinkDrained(conn, 40*time.Second); err != nil {
		t.Fatalf("not drained (a bad row blocks the table?): %v; retries %d", err, sink.Stats.Retries.Load())
	}
	w := sinktest.Want(t, conn)
	all, distinct := sinktest.Counts(t, st.Conn(), st.Database())
	for name, n := range w {
		if all[name] != n || distinct[name] != n {
			t.Errorf("%s: %d rows (%d distinct), want %d", name, all[name], distinct[name], n)
		}
	}
	rows, err := st.Conn().Query(context.Background(), "SELECT source_topic, reason FROM times.dead_letters WHERE stage = 'sink' AND reason LIKE '%DateTime%' ORDER BY reason")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var reasons []string
	for rows.Next() {
		var topic, reason string
		if err := rows.Scan(&topic, &reason); err != nil {
			t.Fatal(err)
		}
		reasons = append(reasons, topic+": "+reason)
	}
	if len(reasons) != 3 || !strings.Contains(strings.Join(reasons, "\n"), "column captured_at is 2200-01-01T00:00:00Z") ||
		!strings.Contains(strings.Join(reasons, "\n"), "column first_seen is 2200") || !strings.Contains(strings.Join(reasons, "\n"), "1969-12-31T23:59:00Z") {
		t.Errorf("dead letters for the bad times:\n%s", strings.Join(reasons, "\n"))
	}
}

// The database is dropped under a sink that had stored everything (its
// commits at the end of every topic), and the sink restarted: every row
// Kafka still holds is back, each once. Records retention deleted are
// named in an error log (before, nothing was re-inserted: the sink read
// from its commit). Then it is dropped under a running sink: the same,
// without a restart.
func TestSinkRefillsDroppedDatabase(t *testing.T) {
	srv := chtest.Start(t)
	conn, _ := brokertest.Open(t, topology.Config{})
	brokertest.Produce(t, conn, sinktest.Stream(5, 200)...)
	ctx := context.Background()
	runSink := func(logs *strings.Builder, until func(*clickhouse.Store) bool) {
		t.Helper()
		st := srv.Open(t, "refill")
		if _, err := st.Migrate(ctx); err != nil { // for the counts before the sink's own
			t.Fatal(err)
		}
		cfg := sinks.Config{Store: st, MaxAge: 100 * time.Millisecond}
		if logs != nil {
			cfg.Logger = slog.New(slog.NewTextHandler(&lockedWriter{b: logs}, nil))
		}
		sink, err := sinks.New(cfg, conn)
		if err != nil {
			t.Fatal(err)
		}
		run := stagetest.Start(ctx, sink)
		defer run.Stop()
		deadline := time.Now().Add(30 * time.Second)
		for !until(st) {
			if time.Now().After(deadline) {
				all, _ := sinktest.Counts(t, st.Conn(), st.Database())
				t.Fatalf("after 30 s the tables hold %v", all)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// The sink's own dead letter (for the undecodable record) is in the
	// want only once it has sent it: read it each time.
	var want map[string]int
	complete := func() func(*clickhouse.Store) bool {
		return func(st *clickhouse.Store) bool {
			want = sinktest.Want(t, conn)
			var tables uint64
			if err := st.Conn().QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = 'refill' AND name IN ('frames','detections','objects','yield_estimates','dead_letters')").Scan(&tables); err != nil || tables != 5 {
				return false // dropped, not yet made again
			}
			all, distinct := sinktest.Counts(t, st.Conn(), st.Database())
			for name, n := range want {
				if all[name] != n || distinct[name] != n {
					return false
				}
			}
			dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			return pipeline.WaitSinkDrained(dctx, conn, 20*time.Millisecond) == nil
		}
	}
	runSink(nil, complete())

	drop := func() {
		st := srv.Open(t, "refill")
		if err := st.Conn().Exec(ctx, "DROP DATABASE refill"); err != nil {
			t.Fatal(err)
		}
	}
	drop()
	runSink(nil, complete())
	time.Sleep(time.Second) // nothing more comes
	st := srv.Open(t, "refill")
	all, distinct := sinktest.Counts(t, st.Conn(), st.Database())
	for name, n := range want {
		if all[name] != n || distinct[name] != n {
			t.Errorf("%s: %d rows (%d distinct) after the drop, want %d", name, all[name], distinct[name], n)
		}
	}

	// Retention deletes the first 50 records of a frames partition: the
	// rest come back, and the loss is logged.
	adm, cl, err := conn.Admin()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := adm.ListEndOffsets(ctx, string(topology.Frames))
	if err != nil {
		t.Fatal(err)
	}
	part := int32(-1)
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset >= 50 {
			part = o.Partition
		}
	})
	if part < 0 {
		t.Fatal("no frames partition holds 50 records")
	}
	del := kadm.Offsets{}
	del.Add(kadm.Offset{Topic: string(topology.Frames), Partition: part, At: 50})
	if _, err := adm.DeleteRecords(ctx, del); err != nil {
		t.Fatal(err)
	}
	drop()
	var logs strings.Builder
	runSink(&logs, complete()) // Want reads what Kafka still holds
	if l := logs.String(); !strings.Contains(l, "retention has deleted") || !strings.Contains(l, "lost_from=0 lost_to=49 count=50") {
		t.Errorf("no error log for the records retention deleted:\n%s", l)
	}

	// Dropped under a running sink, with records still coming: the inserts
	// that find no table make it prepare the store again and re-read from
	// Kafka, without a restart (before, it retried into the void for ever).
	dropped := false
	runSink(nil, func(st *clickhouse.Store) bool {
		if !dropped {
			drop()
			brokertest.Produce(t, conn, sinktest.Stream(6, 30)...)
			dropped = true
			return false
		}
		return complete()(st)
	})
}

type lockedWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
