package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/fieldrun"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// The broker is SIGKILLed and restarted twice while detect, track and
// aggregate, each its own process, work through a field: every stage is
// still running afterwards and the block's count equals the single-process
// run's.
func TestBrokerKilledUnderStages(t *testing.T) {
	longTest(t, "kills the broker under running stages: about a minute")
	dir := scenarioDir(t, strings.NewReplacer("rows: 2", "rows: 3", "plants_per_row: 2", "plants_per_row: 6").Replace(smallScenario))
	single := evalReport(t, dir, "small.yaml")

	brk, _ := brokerProcess(t, dir)
	defer func() { signalled(brk, os.Interrupt) }()
	stages := map[string]*exec.Cmd{}
	for _, st := range []string{"detect", "track", "aggregate"} {
		stages[st] = startProcess(t, dir, st+".log", "run", "--stages", st, "--model", shippedModel(), "--metrics-addr", "")
	}
	exited := map[string]chan error{}
	for st, c := range stages {
		ch := make(chan error, 1)
		exited[st] = ch
		go func() { ch <- c.Wait() }()
	}
	defer func() {
		for st, c := range stages {
			c.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited[st]:
			case <-time.After(30 * time.Second):
				c.Process.Kill()
			}
		}
	}()
	if r := run(t, dir, "ingest", "--scenario", "small.yaml", "--progress", "off"); r.code != 0 {
		t.Fatalf("ingest: %s", r.stderr)
	}
	for i := 0; i < 2; i++ {
		time.Sleep(2 * time.Second)
		killed(brk)
		time.Sleep(time.Second)
		brk, _ = brokerProcess(t, dir)
	}
	conn := openData(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	drainErr := pipeline.WaitDrained(ctx, conn, 500*time.Millisecond)
	for st := range stages {
		select {
		case err := <-exited[st]:
			t.Fatalf("%s exited (%v) after the broker restarts:\n%s", st, err, logTail(filepath.Join(dir, st+".log"), 3000))
		default:
		}
	}
	if drainErr != nil {
		t.Fatalf("not drained after the broker restarts: %v", drainErr)
	}
	// No close: the window closes when the camera's stream ends.
	est, err := fieldrun.WaitFinal(ctx, conn, single.Block)
	if err != nil {
		t.Fatalf("no final estimate (%v):\n%s", err, logTail(filepath.Join(dir, "aggregate.log"), 3000))
	}
	if int(est.UnitsCounted) != single.Counted {
		objs, _ := broker.ReadAll(ctx, conn, topology.Objects, time.Second)
		ids := map[string]int{}
		for _, r := range objs {
			if o, err := schema.DecodeCountedObject(r.Value); err == nil && o.Control == "" {
				ids[o.ObjectId]++
			}
		}
		dl, _ := broker.ReadAll(ctx, conn, topology.DLQ, time.Second)
		for _, r := range dl {
			if d, err := schema.DecodeDeadLetter(r.Value); err == nil {
				t.Logf("dead letter: %s %s", d.Stage, d.Reason)
			}
		}
		t.Logf("objects topic: %d records, %d distinct ids", len(objs), len(ids))
		t.Fatalf("after two broker kills %d counted, the single-process run %d", est.UnitsCounted, single.Counted)
	}
	t.Logf("%d objects counted, exact after two broker kills", single.Counted)
}
