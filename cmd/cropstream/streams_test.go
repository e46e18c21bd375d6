package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cropstream/cropstream/fieldrun"
	"github.com/cropstream/cropstream/pipeline"
)

// Two recordings from one camera (sequences restarting at 0) ingested into
// two blocks are both counted, each as the single-process run of its field
// counts it, as if from two cameras; ingesting the first again changes
// nothing.
func TestTwoFilesFromOneCamera(t *testing.T) {
	longTest(t, "runs the pipeline on two fields: about a minute")
	dir := t.TempDir()
	want := map[string]int{}
	for i, block := range []string{"B1", "B2"} {
		sc := strings.Replace(smallScenario, "seed: 3", fmt.Sprintf("seed: %d", 3+i), 1)
		writeFile(t, dir, block+".yaml", sc)
		want[block] = evalReport(t, dir, block+".yaml").Counted
	}

	startBroker(t, dir)
	serveStage(t, dir, "detect,track,aggregate", "--model", shippedModel())
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
	for _, block := range []string{"B1", "B2"} {
		y, err := fieldrun.WaitFinal(ctx, conn, block)
		if err != nil {
			t.Logf("block %s: %v", block, err)
			continue
		}
		got[block] = int(y.UnitsCounted)
	}
	if got["B1"] != want["B1"] || got["B2"] != want["B2"] || want["B1"] == 0 || want["B2"] == 0 {
		t.Fatalf("one camera, two files: counted %v, each field alone %v\n%s", got, want, logTail(filepath.Join(dir, "detect,track,aggregate.log"), 2000))
	}
	t.Logf("counted %v, as each field alone", got)
}
