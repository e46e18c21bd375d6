package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/fieldrun"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// The stages deployed one per process on one standalone broker, as on a
// cluster, count what the single-process run counts.
func TestStagesAsSeparateProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "small.yaml"), []byte(smallScenario), 0o644)
	model := filepath.Join(repo, inference.DefaultModel)

	// The single-process run, on its own fresh broker.
	r := run(t, dir, "eval", "--scenario", "small.yaml", "--json", "--model", model)
	if r.code != 0 {
		t.Fatalf("eval: %s", r.stderr)
	}
	var single fieldrun.Report
	if err := json.Unmarshal([]byte(r.stdout), &single); err != nil {
		t.Fatal(err)
	}

	startBroker(t, dir)
	for _, st := range []string{"detect", "track", "aggregate", "sink"} {
		c := exec.Command(bin, "run", "--stages", st, "--model", model, "--metrics-addr", "")
		c.Dir = dir
		f, _ := os.Create(filepath.Join(dir, st+".log"))
		c.Stdout, c.Stderr = f, f
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			c.Process.Signal(syscall.SIGTERM)
			if err := c.Wait(); err != nil {
				t.Errorf("%s after SIGTERM: %v", st, err)
			}
		}()
	}
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
	var est *schema.YieldEstimate
	for est == nil && ctx.Err() == nil {
		recs, err := broker.ReadAll(ctx, conn, topology.Yield, 500*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if y, err := schema.DecodeYieldEstimate(rec.Value); err == nil && y.Final && y.BlockId == single.Block {
				est = y
			}
		}
		if est == nil {
			time.Sleep(200 * time.Millisecond) // ReadAll returns at once while the topic is empty
		}
	}
	if est == nil {
		b, _ := os.ReadFile(filepath.Join(dir, "aggregate.log"))
		t.Fatalf("no final estimate:\n%s", b)
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
