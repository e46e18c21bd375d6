package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/pipeline"
	"github.com/cropstream/cropstream/sinks/clickhouse"
	"github.com/cropstream/cropstream/sinks/clickhouse/chtest"
	"github.com/cropstream/cropstream/sinks/sinktest"
)

// The sink runs as its own process and is killed with SIGKILL at random
// points while records keep arriving; after a last restart every table
// holds exactly the rows of an uninterrupted run: none missing, none twice.
func TestSinkKilled(t *testing.T) {
	longTest(t, "kills and restarts processes")
	srv := chtest.Start(t)
	dir := brokerWithTopics(t)
	conn := openData(t, dir)
	recs := sinktest.Stream(11, 3000)
	chunks := 6
	next := 0
	feed := func() {
		if next < chunks {
			lo, hi := next*len(recs)/chunks, (next+1)*len(recs)/chunks
			brokertest.Produce(t, conn, recs[lo:hi]...)
			next++
		}
	}
	feed()
	logs := 0
	start := func() *exec.Cmd {
		logs++
		return startProcess(t, dir, fmt.Sprintf("sink-%d.log", logs), "run", "--stages", "sink", "--clickhouse", srv.Addr(), "--clickhouse-db", "killed")
	}
	rng := rand.New(rand.NewPCG(3, 9))
	stored := func() uint64 {
		var n uint64
		if st, err := clickhouse.Open(context.Background(), clickhouse.Config{Addr: []string{srv.Addr()}, Database: "killed"}); err == nil {
			st.Conn().QueryRow(context.Background(), "SELECT count() FROM killed.detections").Scan(&n)
			st.Close()
		}
		return n
	}
	for i := 0; i < 4; i++ {
		before := stored()
		c := start()
		feed()
		// Kill it at a random moment once it has stored something.
		for deadline := time.Now().Add(40 * time.Second); stored() == before && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
		killed(c)
	}
	for next < chunks {
		feed()
	}
	last := start()
	defer stopped(last)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := pipeline.WaitSinkDrained(ctx, conn, 300*time.Millisecond); err != nil {
		signalled(last, syscall.SIGQUIT) // its goroutines, into the log
		b, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("sink-%d.log", logs)))
		t.Fatalf("not drained: %v\n%s", err, b)
	}
	st := srv.Open(t, "killed")
	want := sinktest.Want(t, conn)
	all, distinct := sinktest.Counts(t, st.Conn(), "killed")
	for name, n := range want {
		if all[name] != n || distinct[name] != n {
			t.Errorf("%s: %d rows (%d distinct), want %d", name, all[name], distinct[name], n)
		}
	}
	t.Logf("rows %v exact after 4 SIGKILLs of the sink", all)
}

// A simulated field through the whole pipeline into ClickHouse: the tables
// agree with the pipeline's own totals, and every example query in
// docs/analytics.md runs and returns rows.
func TestPipelineIntoClickHouse(t *testing.T) {
	srv := chtest.Start(t)
	dir := scenarioDir(t, smallScenario)
	rep := evalReport(t, dir, "small.yaml", "--clickhouse", srv.Addr())
	// The report scores tracking on every detection record (a ReadAll that
	// stopped at its first quiet moment once scored none: MOTA 0).
	if rep.MOT.GT == 0 || rep.MOTA <= 0.3 || rep.IDF1 <= 0.3 {
		t.Fatalf("tracking not scored: %+v", rep.MOT)
	}
	if rep.YieldPerfectKg <= 0 || rep.YieldPerfectKg < rep.YieldTrueKg/2 || rep.YieldPerfectKg > 2*rep.YieldTrueKg {
		t.Fatalf("a perfect count's yield %.1f kg against %.1f kg true", rep.YieldPerfectKg, rep.YieldTrueKg)
	}
	ctx := context.Background()
	st := srv.Open(t, "")
	one := func(q string, dst any) {
		t.Helper()
		if err := st.Conn().QueryRow(ctx, q).Scan(dst); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var frames, objects, units, boxes uint64
	var kg float64
	one("SELECT count() FROM cropstream.frames FINAL", &frames)
	one("SELECT count() FROM cropstream.objects FINAL", &objects)
	one("SELECT units_counted FROM cropstream.yield_latest FINAL WHERE block_id = 'T1'", &units)
	one("SELECT yield_kg FROM cropstream.yield_latest FINAL WHERE block_id = 'T1'", &kg)
	one("SELECT count() FROM cropstream.detections", &boxes)
	if int(frames) != rep.Frames || int(objects) != rep.Counted || int(units) != rep.Counted ||
		fmt.Sprintf("%.3f", kg) != fmt.Sprintf("%.3f", rep.YieldEstKg) || rep.Analytics == nil || int64(boxes) != rep.Analytics.Rows["detections"] || boxes == 0 {
		t.Fatalf("ClickHouse: %d frames, %d objects, %d units, %.3f kg, %d boxes; pipeline: %d frames, %d counted, %.3f kg, %+v",
			frames, objects, units, kg, boxes, rep.Frames, rep.Counted, rep.YieldEstKg, rep.Analytics)
	}
	var perRow uint64
	one("SELECT sum(n) FROM (SELECT uniqExactMerge(objects) AS n FROM cropstream.objects_per_block_day GROUP BY row_id)", &perRow)
	if int(perRow) != rep.Counted {
		t.Fatalf("objects_per_block_day sums to %d, pipeline counted %d", perRow, rep.Counted)
	}

	// A second run on a fresh broker would reuse offsets 0..n: refused.
	if r := run(t, dir, "eval", "--scenario", "small.yaml", "--json", "--clickhouse", srv.Addr(), "--model", shippedModel()); r.code == 0 || !strings.Contains(r.lastLine, "already holds rows") {
		t.Fatalf("second fresh run into the same database: exit %d, %q", r.code, r.lastLine)
	}

	doc, err := os.ReadFile(filepath.Join(repo, "docs", "analytics.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)\n(\\d+)\\. ([^\n]*)\n\n```sql\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 8 {
		t.Fatalf("docs/analytics.md has %d numbered queries, want at least 8", len(blocks))
	}
	for _, b := range blocks {
		rows, err := st.Conn().Query(ctx, b[3])
		if err != nil {
			t.Errorf("query %s (%s): %v", b[1], b[2], err)
			continue
		}
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		if n == 0 && !strings.Contains(b[2], "may be empty") {
			t.Errorf("query %s (%s) returned no rows", b[1], b[2])
		}
	}
}
