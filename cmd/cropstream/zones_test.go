package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/processors/track"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/sinks/clickhouse"
	"github.com/cropstream/cropstream/sinks/clickhouse/chtest"
	"github.com/cropstream/cropstream/topology"
	"github.com/cropstream/cropstream/zones/zonestest"
)

// Two conveyor cameras with count lines set by the CLI, their detections
// through track, aggregate and sink as separate processes into ClickHouse:
// the crossings per camera, direction and class there equal the objects
// that crossed, after the track process is SIGKILLed mid-stream and
// restarted and after frames are replayed (the table holds the re-sent
// crossings, the counts do not).
func TestCountLinesIntoClickHouse(t *testing.T) {
	longTest(t, "runs processes")
	srv := chtest.Start(t)
	dir := brokerWithTopics(t)
	for _, cam := range []string{"belt-a", "belt-b"} {
		if r := run(t, dir, "zones", "set", "--camera", cam, "--line", "belt=320,0,320,360"); r.code != 0 {
			t.Fatalf("zones set: %s", r.stderr)
		}
	}
	if r := run(t, dir, "zones", "set", "--camera", "belt-c", "--line", "belt=320,0,320"); r.code == 0 {
		t.Fatal("a line of three numbers was set")
	}
	if r := run(t, dir, "zones", "list"); r.code != 0 || !contains(r.stdout, "belt-a", "belt-b", "320,0", "320,360") {
		t.Fatalf("zones list: %s %s", r.stdout, r.stderr)
	}

	now := time.Now().UnixNano()
	belts := map[string]zonestest.Conveyor{
		"belt-a": zonestest.NewConveyor(31, "belt-a", "shift-1", now, zonestest.Segment{Frames: 500, Dir: 1}),
		"belt-b": zonestest.NewConveyor(32, "belt-b", "shift-1", now, zonestest.Segment{Frames: 500, Dir: -1}),
	}
	records := func(cam string, from, to int) []*kgo.Record {
		var out []*kgo.Record
		for _, d := range belts[cam].Records[from:min(to, len(belts[cam].Records))] {
			d.FieldId, d.BlockId, d.RowId = "F-pack", "packing", cam
			val, err := schema.Encode(d)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, &kgo.Record{Topic: string(topology.Detections), Key: []byte(cam), Value: val})
		}
		return out
	}
	conn := openData(t, dir)
	produce := func(recs []*kgo.Record) { brokertest.Produce(t, conn, recs...) }

	db := "cropstream" // as the example query in docs/analytics.md names it
	trackArgs := []string{"run", "--stages", "track", "--metrics-addr", ""}
	trackProc := startProcess(t, dir, "track-1.log", trackArgs...)
	for _, st := range []string{"aggregate", "sink"} {
		serveStage(t, dir, st, "--clickhouse", srv.Addr(), "--clickhouse-db", db)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	stored := func() (all, distinct uint64) {
		st, err := clickhouse.Open(ctx, clickhouse.Config{Addr: []string{srv.Addr()}, Database: db})
		if err != nil {
			return 0, 0
		}
		defer st.Close()
		st.Conn().QueryRow(ctx, "SELECT count(), uniqExact(crossing_id) FROM "+db+".line_crossings").Scan(&all, &distinct)
		return all, distinct
	}

	// The first half, and the track process killed once crossings are
	// stored, wherever it is.
	produce(append(records("belt-a", 0, 250), records("belt-b", 0, 250)...))
	until(t, "first crossings stored", 90*time.Second, func() bool { n, _ := stored(); return n > 0 })
	killed(trackProc)
	ui := freeAddr(t)
	trackProc = startProcess(t, dir, "track-2.log", append(trackArgs, "--ui", ui)...)
	defer func() {
		if err := stopped(trackProc); err != nil {
			t.Errorf("track after SIGTERM: %v", err)
		}
	}()
	produce(append(records("belt-a", 250, 1000), records("belt-b", 250, 1000)...))
	// Frames of belt-a again (a producer that re-sent them): the stage
	// re-sends what they counted.
	produce(records("belt-a", 100, 300))
	if err := pipeline.WaitDrained(ctx, conn, 500*time.Millisecond); err != nil {
		t.Fatalf("not drained: %v", err)
	}
	if err := pipeline.WaitSinkDrained(ctx, conn, 500*time.Millisecond); err != nil {
		t.Fatalf("sink not drained: %v", err)
	}

	r := run(t, dir, "zones", "counts", "--clickhouse", srv.Addr(), "--clickhouse-db", db, "--json")
	if r.code != 0 {
		t.Fatalf("zones counts: %s", r.stderr)
	}
	var rows []clickhouse.LineCount
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, c := range rows {
		got[fmt.Sprintf("%s %s %s %s", c.Camera, c.Line, c.Direction, c.Class)] = c.Crossings
	}
	n := 0
	for cam, c := range belts {
		for class, name := range zonestest.ClassNames {
			for dir, want := range map[string]int{"in": c.In[class], "out": c.Out[class]} {
				k := fmt.Sprintf("%s belt %s %s", cam, dir, name)
				if got[k] != uint64(want) {
					t.Errorf("%s: %d crossings in ClickHouse, %d crossed", k, got[k], want)
				}
				if want > 0 {
					n++
				}
			}
		}
	}
	if len(got) != n {
		t.Errorf("counts %v, want %d non-zero rows", got, n)
	}
	// The example query of docs/analytics.md says the same.
	doc, err := os.ReadFile(filepath.Join(repo, "docs", "analytics.md"))
	if err != nil {
		t.Fatal(err)
	}
	q := regexp.MustCompile("(?s)\n14\\. Count lines[^\n]*\n\n```sql\n(.*?)```").FindStringSubmatch(string(doc))
	if q == nil {
		t.Fatal("docs/analytics.md has no query 14 on count lines")
	}
	docRows := 0
	if err := func() error {
		st, err := clickhouse.Open(ctx, clickhouse.Config{Addr: []string{srv.Addr()}, Database: db})
		if err != nil {
			return err
		}
		defer st.Close()
		rs, err := st.Conn().Query(ctx, q[1])
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var c clickhouse.LineCount
			if err := rs.Scan(&c.Camera, &c.Line, &c.Direction, &c.Class, &c.Crossings); err != nil {
				return err
			}
			if k := fmt.Sprintf("%s %s %s %s", c.Camera, c.Line, c.Direction, c.Class); got[k] != c.Crossings {
				t.Errorf("docs' query: %s %d, zones counts %d", k, c.Crossings, got[k])
			}
			docRows++
		}
		return rs.Err()
	}(); err != nil || docRows != len(got) {
		t.Fatalf("docs' query: %d rows (%v), zones counts %d", docRows, err, len(got))
	}

	// The query API of the track process says the same, from its table.
	for cam, c := range belts {
		var v track.CameraView
		if code, err := getJSON("http://"+ui+"/api/cameras/"+cam+"/tracks", &v); err != nil || code != http.StatusOK || len(v.Lines) != 1 {
			t.Fatalf("API of %s: %d %v %+v", cam, code, err, v.Lines)
		}
		for class, name := range zonestest.ClassNames {
			if l := v.Lines[0]; l.In[name] != uint64(c.In[class]) || l.Out[name] != uint64(c.Out[class]) {
				t.Errorf("API of %s, %s: in %d out %d, crossed in %d out %d", cam, name, l.In[name], l.Out[name], c.In[class], c.Out[class])
			}
		}
	}
	st, err := clickhouse.Open(ctx, clickhouse.Config{Addr: []string{srv.Addr()}, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var dead uint64
	if err := st.Conn().QueryRow(ctx, "SELECT count() FROM "+db+".dead_letters").Scan(&dead); err != nil || dead != 0 {
		t.Errorf("%d dead letters (%v)", dead, err)
	}
	all, distinct := stored()
	if all <= distinct {
		t.Errorf("%d rows, %d distinct crossings: the replay re-sent none", all, distinct)
	}
	t.Logf("crossings %v; %d rows, %d distinct", got, all, distinct)
}

func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
