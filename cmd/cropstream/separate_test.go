package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cropstream/cropstream/fieldrun"
	"github.com/cropstream/cropstream/pipeline"
)

// The stages deployed one per process on one standalone broker, as on a
// cluster, count what the single-process run counts.
func TestStagesAsSeparateProcesses(t *testing.T) {
	longTest(t, "runs processes")
	dir := scenarioDir(t, smallScenario)
	// The single-process run, on its own fresh broker.
	single := evalReport(t, dir, "small.yaml")

	startBroker(t, dir)
	serveStages(t, dir)
	if r := run(t, dir, "ingest", "--scenario", "small.yaml", "--progress", "off"); r.code != 0 {
		t.Fatalf("ingest: %s", r.stderr)
	}
	conn := openData(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if err := pipeline.WaitDrained(ctx, conn, 500*time.Millisecond); err != nil {
		t.Fatalf("not drained: %v", err)
	}
	// No close: the block's window closes when the camera's stream ends.
	est, err := fieldrun.WaitFinal(ctx, conn, single.Block)
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "aggregate.log"))
		t.Fatalf("no final estimate (%v):\n%s", err, b)
	}
	if int(est.UnitsCounted) != single.Counted {
		t.Fatalf("separate processes counted %d, the single-process run %d", est.UnitsCounted, single.Counted)
	}
	if err := pipeline.WaitSinkDrained(ctx, conn, 500*time.Millisecond); err != nil {
		t.Fatalf("sink not drained: %v", err)
	}
	if fs, _ := filepath.Glob(filepath.Join(dir, "data", "analytics", "objects", "*.json")); len(fs) == 0 {
		t.Fatal("the sink process wrote no objects file")
	}
	t.Logf("%d objects counted by both", single.Counted)
}
