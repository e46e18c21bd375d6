package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// Two recordings from one camera (sequences restarting at 0) ingested into
// two blocks are both counted, each as the single-process run of its field
// counts it, as if from two cameras; ingesting the first again changes
// nothing.
func TestTwoFilesFromOneCamera(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline on two fields: about a minute")
	}
	dir := t.TempDir()
	model := filepath.Join(repo, inference.DefaultModel)
	want := map[string]int{}
	for i, block := range []string{"B1", "B2"} {
		sc := strings.Replace(smallScenario, "seed: 3", fmt.Sprintf("seed: %d", 3+i), 1)
		os.WriteFile(filepath.Join(dir, block+".yaml"), []byte(sc), 0o644)
		r := run(t, dir, "eval", "--scenario", block+".yaml", "--json", "--model", model)
		if r.code != 0 {
			t.Fatalf("eval: %s", r.stderr)
		}
		var rep fieldrun.Report
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatal(err)
		}
		want[block] = rep.Counted
	}

	startBroker(t, dir)
	c := exec.Command(bin, "run", "--stages", "detect,track,aggregate", "--model", model, "--metrics-addr", "")
	c.Dir = dir
	f, _ := os.Create(filepath.Join(dir, "run.log"))
	c.Stdout, c.Stderr = f, f
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Signal(syscall.SIGTERM); c.Wait() }()
	for _, block := range []string{"B1", "B2", "B1"} {
		if r := run(t, dir, "ingest", "--scenario", block+".yaml", "--camera", "tractor-1", "--block", block, "--progress", "off"); r.code != 0 {
			t.Fatalf("ingest %s: %s", block, r.stderr)
		}
	}
	conn := openData(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if err := pipeline.WaitDrained(ctx, conn, 500*time.Millisecond); err != nil {
		t.Fatalf("not drained: %v", err)
	}
	// No close: each block's window closes when its file's stream ends; the
	// second ingest of the first file is a replay and changes nothing.
	got := map[string]int{}
	for len(got) < 2 && ctx.Err() == nil {
		recs, err := broker.ReadAll(ctx, conn, topology.Yield, 500*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if y, err := schema.DecodeYieldEstimate(rec.Value); err == nil && y.Final {
				got[y.BlockId] = int(y.UnitsCounted)
			}
		}
		if len(got) < 2 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if got["B1"] != want["B1"] || got["B2"] != want["B2"] || want["B1"] == 0 || want["B2"] == 0 {
		b, _ := os.ReadFile(filepath.Join(dir, "run.log"))
		t.Fatalf("one camera, two files: counted %v, each field alone %v\n%s", got, want, b[max(0, len(b)-2000):])
	}
	t.Logf("counted %v, as each field alone", got)
}
