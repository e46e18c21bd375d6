package main

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/cropstream/cropstream/dashboard"
	"github.com/cropstream/cropstream/sinks/clickhouse/chtest"
)

func getJSON(url string, v any) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(v)
}

// TestQueryAPIMatchesRunAndClickHouse asks the query API for the block while
// a small field runs: its final count equals the count run prints and the
// objects ClickHouse holds, and its estimate the final estimate stored there.
func TestQueryAPIMatchesRunAndClickHouse(t *testing.T) {
	longTest(t, "runs processes")
	srv := chtest.Start(t)
	dir := scenarioDir(t, uiScenario)
	r := startUIRun(t, dir, "--clickhouse", srv.Addr())
	var base string
	select {
	case base = <-r.url:
	case <-time.After(60 * time.Second):
		t.Fatalf("no page served within 60 s\n%s", r.stderr.String())
	}

	// The API answers while the pipeline runs; the last final answer is the
	// one to compare.
	var (
		final   *dashboard.BlockAnswer
		tracks  bool
		blocks  []dashboard.FieldBlockAnswer
		printed = -1
	)
	deadline := time.Now().Add(90 * time.Second)
	for printed < 0 && time.Now().Before(deadline) {
		var b dashboard.BlockAnswer
		if code, err := getJSON(base+"api/blocks/T1", &b); err == nil && code == http.StatusOK && b.Final {
			final = &b
		}
		var cam struct {
			LastSeq uint64 `json:"last_sequence"`
		}
		if code, err := getJSON(base+"api/cameras/cam-t/tracks", &cam); err == nil && code == http.StatusOK && cam.LastSeq > 0 {
			tracks = true
		}
		if blocks == nil {
			getJSON(base+"api/fields/F1/blocks", &blocks)
		}
		printed = printedCount(r.stdout.String(), "T1")
		time.Sleep(100 * time.Millisecond)
	}
	r.stop(t)
	if printed <= 0 {
		t.Fatalf("run printed no count for T1:\n%s\n%s", r.stdout.String(), r.stderr.String())
	}
	if final == nil {
		t.Fatalf("the API never answered a final count for T1 while the run served it")
	}
	if final.Counted != printed || final.Estimate == nil || int(final.Estimate.UnitsCounted) != printed {
		t.Errorf("API counted %d (estimate %+v), run printed %d", final.Counted, final.Estimate, printed)
	}
	sum := 0
	for _, row := range final.Rows {
		for _, n := range row.Plants {
			sum += n
		}
	}
	if sum != printed || len(final.Rows) != 2 {
		t.Errorf("API rows %+v: plants sum to %d, want %d over 2 rows", final.Rows, sum, printed)
	}
	if !tracks {
		t.Error("the API never answered cam-t's tracks")
	}
	if len(blocks) != 1 || blocks[0].Block != "T1" || len(blocks[0].Rows) != 2 || blocks[0].Crop != "apple" {
		t.Errorf("field F1's blocks: %+v", blocks)
	}

	ctx := context.Background()
	st := srv.Open(t, "")
	var objects, units uint64
	var kg float64
	if err := st.Conn().QueryRow(ctx, "SELECT uniqExact(object_id) FROM cropstream.objects WHERE block_id = 'T1'").Scan(&objects); err != nil {
		t.Fatal(err)
	}
	if err := st.Conn().QueryRow(ctx, "SELECT argMaxIf(units_counted, emitted_unix_ns, final = 1), argMaxIf(yield_kg, emitted_unix_ns, final = 1) FROM cropstream.yield_estimates FINAL WHERE block_id = 'T1'").Scan(&units, &kg); err != nil {
		t.Fatal(err)
	}
	if int(objects) != printed || int(units) != printed {
		t.Errorf("ClickHouse holds %d objects and a final of %d units, run printed %d", objects, units, printed)
	}
	if math.Abs(kg-final.Estimate.YieldKg) > 1e-6 {
		t.Errorf("API estimate %.6f kg, ClickHouse's final %.6f kg", final.Estimate.YieldKg, kg)
	}
	t.Logf("block T1: run printed %d, API %d (final, %.2f kg), ClickHouse %d objects, final %d units %.2f kg", printed, final.Counted, final.Estimate.YieldKg, objects, units, kg)
}
