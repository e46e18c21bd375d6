package clickhouse_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cropstream/cropstream/drift"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/sinks"

	"github.com/cropstream/cropstream/sinks/clickhouse/chtest"
)

// The model-id step on both kinds of database: a fresh one, where step 1
// already made the columns, and one made before the step, which lacks them.
func TestMigrateModelIDColumns(t *testing.T) {
	st := chtest.Start(t).Open(t, "models")
	ctx := context.Background()
	if applied, err := st.Migrate(ctx); err != nil || !slices.Contains(applied, 20) {
		t.Fatalf("fresh database: applied %v, %v", applied, err)
	}
	cols := func() int {
		var n uint64
		if err := st.Conn().QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = 'models' AND table IN ('detections', 'objects', 'yield_estimates') AND name IN ('model_id', 'model_units')").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return int(n)
	}
	if n := cols(); n != 4 {
		t.Fatalf("fresh database: %d model columns, want 4", n)
	}
	// A database from before the step: the columns gone, the step unrecorded.
	for _, q := range []string{
		"ALTER TABLE models.detections DROP COLUMN model_id",
		"ALTER TABLE models.objects DROP COLUMN model_id",
		"ALTER TABLE models.yield_estimates DROP COLUMN model_id",
		"ALTER TABLE models.yield_estimates DROP COLUMN model_units",
		"DROP TABLE models.schema_migrations",
	} {
		if err := st.Conn().Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if n := cols(); n != 0 {
		t.Fatalf("old database: %d model columns, want 0", n)
	}
	if applied, err := st.Migrate(ctx); err != nil || !slices.Contains(applied, 20) {
		t.Fatalf("old database: applied %v, %v", applied, err)
	}
	if n := cols(); n != 4 {
		t.Fatalf("old database after migrating: %d model columns, want 4", n)
	}
}

// docQuery returns numbered query n of docs/analytics.md, so the test runs
// the text operators copy.
func docQuery(t *testing.T, n int) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	doc, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "docs", "analytics.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(fmt.Sprintf("(?s)\n%d\\. [^\n]*\n\n```sql\n(.*?)```", n)).FindStringSubmatch(string(doc))
	if m == nil {
		t.Fatalf("docs/analytics.md has no query %d", n)
	}
	return m[1]
}

// Model-quality records through the table's rows into ClickHouse: the
// documented per camera-hour query sums the windows per camera and names
// both models of a camera switched mid-hour; the drifting-cameras query
// names only the camera whose latest window drifted.
func TestModelQualityQueries(t *testing.T) {
	st := chtest.Migrated(t, "cropstream")
	ctx := context.Background()
	tb := sinks.TableNamed("model_quality")
	hour := time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC).UnixNano()
	win := func(cam, model string, i int, ks float64) *schema.ModelQuality {
		start := hour + int64(i)*int64(time.Minute)
		return &schema.ModelQuality{CameraId: cam, ModelId: model, WindowStartUnixNs: start, WindowEndUnixNs: start + int64(30*time.Second),
			Frames: 300, Boxes: 600, MeanScore: 0.7, MeanBrightness: 0.5, MeanContrast: 0.2, EmittedUnixNs: start + int64(time.Minute),
			Drift: []*schema.DriftStat{{Feature: drift.Brightness, Ks: ks, Psi: ks * 2}, {Feature: drift.Score, Ks: 0.05, Psi: 0.01}}}
	}
	rows := sinks.NewBlock(tb)
	for i, q := range []*schema.ModelQuality{
		win("cam-a", "m@1+sha256:aaaaaaaaaaaa", 0, 0.1), win("cam-a", "m@1+sha256:aaaaaaaaaaaa", 1, 0.12),
		win("cam-b", "m@1+sha256:aaaaaaaaaaaa", 0, 0.1), win("cam-b", "m@2+sha256:bbbbbbbbbbbb", 1, 0.8),
	} {
		v, err := schema.Encode(q)
		if err != nil {
			t.Fatal(err)
		}
		if err := tb.Decode(rows, v, 0, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Insert(ctx, tb, rows); err != nil {
		t.Fatal(err)
	}
	res, err := st.Conn().Query(ctx, docQuery(t, 12))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for res.Next() {
		var cam, models string
		var at time.Time
		var frames uint64
		var bpf, score, bright, ksB, ksS, psiS *float64
		if err := res.Scan(&cam, &at, &models, &frames, &bpf, &score, &bright, &ksB, &ksS, &psiS); err != nil {
			t.Fatal(err)
		}
		got[cam] = fmt.Sprintf("%s %d frames %.2f boxes/frame score %.3f ks %.2f", models, frames, deref(bpf), deref(score), deref(ksB))
	}
	res.Close()
	if got["cam-a"] != "m@1+sha256:aaaaaaaaaaaa 600 frames 2.00 boxes/frame score 0.700 ks 0.12" || !strings.Contains(got["cam-b"], "m@2+sha256:bbbbbbbbbbbb") ||
		!strings.Contains(got["cam-b"], "m@1+sha256:aaaaaaaaaaaa") || !strings.HasSuffix(got["cam-b"], "ks 0.80") {
		t.Errorf("quality per camera-hour: %q", got)
	}
	res, err = st.Conn().Query(ctx, docQuery(t, 13))
	if err != nil {
		t.Fatal(err)
	}
	var drifting []string
	for res.Next() {
		var cam, model string
		var end time.Time
		var ks [5]*float64
		if err := res.Scan(&cam, &model, &end, &ks[0], &ks[1], &ks[2], &ks[3], &ks[4]); err != nil {
			t.Fatal(err)
		}
		drifting = append(drifting, cam+" "+model)
	}
	res.Close()
	if len(drifting) != 1 || drifting[0] != "cam-b m@2+sha256:bbbbbbbbbbbb" {
		t.Errorf("drifting cameras %v, want cam-b under its new model only", drifting)
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}
