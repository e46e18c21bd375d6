package clickhouse_test

import (
	"context"
	"slices"
	"testing"

	"github.com/cropstream/cropstream/sinks/clickhouse/chtest"
)

// The model-id step on both kinds of database: a fresh one, where step 1
// already made the columns, and one made before the step, which lacks them.
func TestMigrateModelIDColumns(t *testing.T) {
	srv := chtest.Start(t)
	ctx := context.Background()
	st := open(t, srv, "models")
	if applied, err := st.Migrate(ctx); err != nil || !slices.Contains(applied, 20) {
		t.Fatalf("fresh database: applied %v, %v", applied, err)
	}
	cols := func() int {
		var n uint64
		if err := st.Conn().QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = 'models' AND name IN ('model_id', 'model_units')").Scan(&n); err != nil {
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
