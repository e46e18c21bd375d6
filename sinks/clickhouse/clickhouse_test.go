package clickhouse_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/clickhouse"
	"github.com/cropstream/cropstream/sinks/clickhouse/chtest"
	"github.com/cropstream/cropstream/sinks/sinktest"
	"github.com/cropstream/cropstream/topology"
)

func open(t *testing.T, srv *chtest.Server, db string) *clickhouse.Store {
	t.Helper()
	st, err := clickhouse.Open(context.Background(), clickhouse.Config{Addr: []string{srv.Addr()}, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestMigrateAndConnectionErrors(t *testing.T) {
	srv := chtest.Start(t)
	ctx := context.Background()
	st := open(t, srv, "mig")
	applied, err := st.Migrate(ctx)
	if err != nil || len(applied) != 2 {
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
	st := open(t, srv, "outage")
	s := sinktest.Stream(1, 400)
	half := len(s) / 2
	sinktest.Produce(t, conn, s[:half])

	sink, err := sinks.New(sinks.Config{Store: st, MaxAge: 200 * time.Millisecond, RetryMax: 2 * time.Second}, conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sink.Run(ctx) }()
	defer func() { cancel(); <-done }()
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	if err := pipeline.WaitSinkDrained(wctx, conn, 200*time.Millisecond); err != nil {
		t.Fatalf("first half not stored: %v", err)
	}
	srv.Stop()
	sinktest.Produce(t, conn, s[half:])
	time.Sleep(30 * time.Second)
	if sink.Stats.Retries.Load() == 0 {
		t.Fatal("the sink never noticed ClickHouse was down")
	}
	srv.Restart()
	wctx2, wcancel2 := context.WithTimeout(ctx, 90*time.Second)
	defer wcancel2()
	if err := pipeline.WaitSinkDrained(wctx2, conn, 200*time.Millisecond); err != nil {
		t.Fatalf("not stored after ClickHouse came back: %v", err)
	}
	w := sinktest.Want(t, conn)
	st2 := open(t, srv, "outage")
	all, distinct := sinktest.Counts(t, st2.Conn(), st2.Database())
	for name, n := range w {
		if all[name] != n || distinct[name] != n {
			t.Errorf("%s: %d rows (%d distinct), want %d", name, all[name], distinct[name], n)
		}
	}
	t.Logf("rows %v after a 30 s outage, %d retries", all, sink.Stats.Retries.Load())

	// The rollups: the replayed object counts once; the latest yield shows.
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
