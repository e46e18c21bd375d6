package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/fieldrun"
	"github.com/cropstream/cropstream/ingest"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/simulator"
	"github.com/cropstream/cropstream/sinks/clickhouse/chtest"
	"github.com/cropstream/cropstream/topology"
)

const smallFieldMap = `fields:
  - id: F1
    blocks:
      - id: T1
        crop: apple
        row_count: 2
        plants_per_row: 2
        plant_spacing_m: 1.5
`

// A season as a grower runs it: the stages as separate processes, the field
// map and hand counts applied with the CLI, two rows of a block ingested by
// two cameras, and no close command: the block's final calibrated yield
// lands in ClickHouse by itself, equal to what eval reports for the field,
// with provisional estimates before it and counts per sample plant.
func TestSeasonWithoutHarness(t *testing.T) {
	longTest(t, "runs processes")
	srv := chtest.Start(t)
	dir := scenarioDir(t, smallScenario)
	writeFile(t, dir, "farm.yaml", smallFieldMap)
	sc, err := simulator.Load(filepath.Join(dir, "small.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The grower's hand counts: every fruit on two sample plants.
	sim := simulator.New(sc)
	l := sim.Layout()
	sim.Close()
	csv := "plant_id,count\n"
	var samples []string
	for _, pl := range []simulator.Plant{l.Plants[0][1], l.Plants[1][0]} {
		csv += fmt.Sprintf("%s,%d\n", pl.ID, len(pl.Units))
		samples = append(samples, pl.ID)
	}
	writeFile(t, dir, "counts.csv", csv)

	// What the scenario harness reports, with the same hand counts.
	want := evalReport(t, dir, "small.yaml", "--hand-counts", "counts.csv")

	startBroker(t, dir)
	for _, args := range [][]string{{"fields", "apply", "farm.yaml"}, {"handcounts", "add", "--block", "T1", "counts.csv"}} {
		if r := run(t, dir, args...); r.code != 0 {
			t.Fatalf("%v: %s", args, r.stderr)
		}
	}
	if r := run(t, dir, "fields", "get"); r.code != 0 || !strings.Contains(r.stdout, "T1") || !strings.Contains(r.stdout, "apple") {
		t.Fatalf("fields get: %s %s", r.stdout, r.stderr)
	}
	serveStages(t, dir, "--clickhouse", srv.Addr())
	for i, row := range []string{"T1-R1", "T1-R2"} {
		if r := run(t, dir, "ingest", "--scenario", "small.yaml", "--scenario-rows", row, "--camera", fmt.Sprintf("cam-%d", i+1), "--progress", "off"); r.code != 0 {
			t.Fatalf("ingest %s: %s", row, r.stderr)
		}
	}

	ctx := context.Background()
	st := srv.Open(t, "")
	var units, finals, provisional uint64
	var kg float64
	deadline := time.Now().Add(150 * time.Second)
	for finals == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Second)
		row := st.Conn().QueryRow(ctx, "SELECT countIf(final = 1), countIf(final = 0), argMaxIf(units_counted, emitted_unix_ns, final = 1), argMaxIf(yield_kg, emitted_unix_ns, final = 1) FROM cropstream.yield_estimates FINAL WHERE block_id = 'T1'")
		if err := row.Scan(&finals, &provisional, &units, &kg); err != nil {
			t.Logf("query: %v", err)
		}
	}
	if finals == 0 {
		b, _ := os.ReadFile(filepath.Join(dir, "aggregate.log"))
		t.Fatalf("no final yield in ClickHouse; aggregate's log:\n%s", b)
	}
	if int(units) != want.Counted || fmt.Sprintf("%.1f", kg) != fmt.Sprintf("%.1f", want.YieldEstKg) {
		t.Fatalf("season: %d units, %.1f kg; eval of the same field: %d units, %.1f kg", units, kg, want.Counted, want.YieldEstKg)
	}
	if provisional == 0 {
		t.Fatal("no provisional estimate before the final one")
	}
	// The sink batches each table on its own: the final estimate can be
	// stored before the last objects are.
	dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := pipeline.WaitSinkDrained(dctx, openData(t, dir), 500*time.Millisecond); err != nil {
		t.Fatalf("sink not drained: %v", err)
	}
	for _, p := range samples {
		var n uint64
		if err := st.Conn().QueryRow(ctx, "SELECT count() FROM cropstream.objects FINAL WHERE plant_id = '"+p+"'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("no object counted on sample plant %s", p)
		}
		t.Logf("sample plant %s: %d counted", p, n)
	}
	t.Logf("final %d units %.1f kg (eval %d, %.1f kg), %d provisional estimates", units, kg, want.Counted, want.YieldEstKg, provisional)
}

// stopsAfter is a live feed that drops after n frames: an error, not the end
// of a stream, so ingest writes no end marker.
type stopsAfter struct {
	ingest.Source
	n int
}

func (s *stopsAfter) Next(ctx context.Context) (ingest.Captured, error) {
	if s.n == 0 {
		return ingest.Captured{}, errors.New("link lost")
	}
	s.n--
	return s.Source.Next(ctx)
}

// A live feed that simply stops, with no end marker: the track stage's idle
// gap ends the camera's pass, and the block (one row in the field map) gets
// its final estimate with nobody closing it.
func TestLiveFeedStopsIdleGapClosesBlock(t *testing.T) {
	longTest(t, "runs processes")
	dir := scenarioDir(t, smallScenario)
	writeFile(t, dir, "farm.yaml", strings.Replace(smallFieldMap, "row_count: 2", "row_count: 1", 1))
	startBroker(t, dir)
	if r := run(t, dir, "fields", "apply", "farm.yaml"); r.code != 0 {
		t.Fatalf("fields apply: %s", r.stderr)
	}
	serveStages(t, dir, "--idle-gap", "3s")
	sc, err := simulator.Load(filepath.Join(dir, "small.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	src := ingest.OpenScenario(sc)
	src.Rows = map[string]bool{"T1-R1": true}
	defer src.Close()
	conn := openData(t, dir)
	cl, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	in, err := ingest.New(ingest.Config{CameraID: "live-1", FieldID: "F1", BlockID: "T1", CaptureStart: sc.StartTime}, cl, conn.Topology())
	if err != nil {
		t.Fatal(err)
	}
	st, err := in.Run(context.Background(), &stopsAfter{Source: src, n: 20})
	cl.Close()
	if err == nil || st.Frames != 20 {
		t.Fatalf("the feed should drop after 20 frames: %d frames, %v", st.Frames, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	y, err := fieldrun.WaitFinal(ctx, conn, "T1")
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "track.log"))
		t.Fatalf("no final estimate after the feed stopped: %v\ntrack's log:\n%s", err, b)
	}
	if y.UnitsCounted == 0 || y.Trigger != "all-rows" || y.RowsDone != 1 {
		t.Fatalf("final estimate %+v, want the objects of the 20 frames, closed by its one row's pass", y)
	}
	objs := brokertest.ReadAll(t, conn, topology.Objects)
	idle := 0
	for _, r := range objs {
		if o, err := schema.DecodeCountedObject(r.Value); err == nil && o.Control == schema.ControlPassEnd && o.Reason == "idle" {
			idle++
		}
	}
	if idle != 1 {
		t.Fatalf("%d idle pass ends, want 1", idle)
	}
	t.Logf("feed dropped after 20 frames; final %d units by the idle gap", y.UnitsCounted)
}
