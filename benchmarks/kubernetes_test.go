package benchmarks

import (
	"strings"
	"testing"

	"github.com/cropstream/cropstream/topology"
)

func TestPlans(t *testing.T) {
	top, err := topology.New(topology.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// The rates of benchmarks/bench/bench.md (2026-11-26).
	rates := []StageRate{
		{Name: "ingest + broker", FPS: 6365, Per: "2 cores"},
		{Name: "detect", FPS: 128, Per: "2 cores"},
		{Name: "track", FPS: 4410, Per: "2 cores"},
		{Name: "whole pipeline", FPS: 60, Per: "2 cores"},
	}
	want := map[string]Plan{
		// 579 and 5787 frames/s: ceil(579/6365) = 1, ceil(5787/6365) = 1.
		"ingest": {Stage: "ingest", Group: topology.Ingest, Input: topology.Cameras, FPS: 6365, Replicas: [2]int{1, 1}, Partitions: [2]int32{12, 12}},
		// ceil(579/128) = 5, ceil(5787/128) = 46: 2 × 46 = 92 partitions, 24 doubled twice.
		"detect": {Stage: "detect", Group: topology.Detect, Input: topology.Frames, FPS: 128, Replicas: [2]int{5, 46}, Partitions: [2]int32{24, 96}},
		// detections move with frames (one camera key, co-partitioned).
		"track":     {Stage: "track", Group: topology.Track, Input: topology.Detections, FPS: 4410, Replicas: [2]int{1, 2}, Partitions: [2]int32{24, 96}},
		"aggregate": {Stage: "aggregate", Group: topology.Aggregate, Input: topology.Objects, Partitions: [2]int32{8, 8}},
		"sink":      {Stage: "sink", Group: topology.SinkClickHouse, Input: topology.Frames, Partitions: [2]int32{24, 96}},
	}
	got := Plans(rates, top)
	if len(got) != len(want) {
		t.Fatalf("%d plans, want %d", len(got), len(want))
	}
	for _, p := range got {
		if p != want[p.Stage] {
			t.Errorf("plan %s:\n got %+v\nwant %+v", p.Stage, p, want[p.Stage])
		}
		for i := range 2 {
			if int32(p.Replicas[i]) > p.Partitions[i] {
				t.Errorf("plan %s: %d replicas above %d partitions", p.Stage, p.Replicas[i], p.Partitions[i])
			}
		}
	}

	md := Markdown(rates, 2300, 2)
	for _, s := range []string{
		"## Replicas and partitions for 5 and 50 TB/day",
		"| detect (detect) | frames | 128 | 5 | 24 | 46 | 96 |",
		"| aggregate (aggregate) | objects | not measured by bench | — | 8 | — | 8 |",
		"| frames/detections partitions (2 per instance of the widest stage, at least the default 24) | 24 | 96 |",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("report lacks %q:\n%s", s, md)
		}
	}
}
