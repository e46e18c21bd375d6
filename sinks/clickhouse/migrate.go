package clickhouse

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/cropstream/cropstream/sinks"
)

// Migration is one step of the schema. Steps are append-only: a released
// step never changes, a change is a new step. Every statement is idempotent
// (IF NOT EXISTS), so a migration interrupted half-way is simply run again.
type Migration struct {
	Version    uint32
	Name       string
	Statements []string
}

// Migrations returns the schema's steps for database db.
func Migrations(db string) []Migration {
	d := quote(db)
	var base []string
	for _, t := range sinks.Tables() {
		base = append(base, createTable(db, t))
	}
	rollups := []string{
		// uniqExact over object ids keeps the rollups exact even when an
		// upstream replay delivers an object twice.
		`CREATE TABLE IF NOT EXISTS ` + d + `.objects_per_camera_hour (
			camera_id String, block_id String, class_name String, hour DateTime,
			objects AggregateFunction(uniqExact, String)
		) ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(hour) ORDER BY (camera_id, block_id, class_name, hour)`,
		`CREATE MATERIALIZED VIEW IF NOT EXISTS ` + d + `.objects_per_camera_hour_mv TO ` + d + `.objects_per_camera_hour AS
			SELECT camera_id, block_id, class_name, toStartOfHour(first_seen) AS hour, uniqExactState(object_id) AS objects
			FROM ` + d + `.objects GROUP BY camera_id, block_id, class_name, hour`,
		`CREATE TABLE IF NOT EXISTS ` + d + `.objects_per_block_day (
			field_id String, block_id String, row_id String, class_name String, day Date,
			objects AggregateFunction(uniqExact, String)
		) ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(day) ORDER BY (field_id, block_id, row_id, class_name, day)`,
		`CREATE MATERIALIZED VIEW IF NOT EXISTS ` + d + `.objects_per_block_day_mv TO ` + d + `.objects_per_block_day AS
			SELECT field_id, block_id, row_id, class_name, toDate(first_seen) AS day, uniqExactState(object_id) AS objects
			FROM ` + d + `.objects GROUP BY field_id, block_id, row_id, class_name, day`,
		// The newest estimate of a block replaces older ones on merge; read
		// it with FINAL.
		`CREATE TABLE IF NOT EXISTS ` + d + `.yield_latest (
			block_id String, field_id String, crop String, estimate_id String, window_end DateTime,
			units_counted UInt64, yield_kg Float64, yield_kg_low Float64, yield_kg_high Float64,
			confidence Float64, final UInt8, emitted_at DateTime, emitted_unix_ns UInt64
		) ENGINE = ReplacingMergeTree(emitted_unix_ns) ORDER BY block_id`,
		`CREATE MATERIALIZED VIEW IF NOT EXISTS ` + d + `.yield_latest_mv TO ` + d + `.yield_latest AS
			SELECT block_id, field_id, crop, estimate_id, window_end, units_counted, yield_kg, yield_kg_low,
			       yield_kg_high, confidence, final, emitted_at, emitted_unix_ns
			FROM ` + d + `.yield_estimates`,
	}
	// Model ids on every row (issue 20). Numbered apart from the steps
	// after 2 that other work adds, so branches merge without renumbering.
	modelIDs := []string{
		addColumn(db, "detections", "model_id", "String"),
		addColumn(db, "objects", "model_id", "String"),
		addColumn(db, "yield_estimates", "model_id", "String"),
		addColumn(db, "yield_estimates", "model_units", "String"),
	}
	return []Migration{
		{1, "tables", base},
		{2, "rollups", rollups},
		{20, "model ids", modelIDs},
		{21, "model quality", []string{createTable(db, declared("model_quality"))}},
		{19, "line crossings", []string{createTable(db, declared("line_crossings"))}},
	}
}

func createTable(db string, t *sinks.Table) string {
	var cols []string
	for _, c := range t.Columns {
		cols = append(cols, fmt.Sprintf("%s %s", quote(c.Name), c.Type))
	}
	cols = append(cols, "`inserted_at` DateTime DEFAULT now()")
	engine := "MergeTree"
	if t.Replacing {
		engine = "ReplacingMergeTree"
	}
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s (\n\t%s\n) ENGINE = %s PARTITION BY %s ORDER BY %s",
		quote(db), quote(t.Name), strings.Join(cols, ",\n\t"), engine, t.PartitionBy, t.OrderBy)
}

// Migrate brings the database to the newest schema and returns the versions
// it applied (none when it was current).
func (s *Store) Migrate(ctx context.Context) ([]uint32, error) {
	d := quote(s.cfg.Database)
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS " + d,
		"CREATE TABLE IF NOT EXISTS " + d + ".schema_migrations (version UInt32, name String, applied_at DateTime DEFAULT now()) ENGINE = MergeTree ORDER BY version",
	} {
		if err := s.conn.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("clickhouse: migrate: %w", err)
		}
	}
	done := map[uint32]bool{}
	rows, err := s.conn.Query(ctx, "SELECT version FROM "+d+".schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("clickhouse: migrate: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("clickhouse: migrate: %w", err)
		}
		done[v] = true
	}
	rows.Close()
	var applied []uint32
	for _, m := range Migrations(s.cfg.Database) {
		if done[m.Version] {
			continue
		}
		for _, q := range m.Statements {
			if err := s.conn.Exec(ctx, q); err != nil && !columnExists(q, err) {
				return applied, fmt.Errorf("clickhouse: migration %d (%s): %w\n%s", m.Version, m.Name, err, q)
			}
		}
		// A batch, not Exec: over the native protocol 18.16 waits for a
		// data block after any INSERT, inline VALUES or not.
		b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+d+".schema_migrations (version, name)")
		if err == nil {
			if err = b.Append(m.Version, m.Name); err == nil {
				err = b.Send()
			}
		}
		if err != nil {
			return applied, fmt.Errorf("clickhouse: record migration %d: %w", m.Version, err)
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}

// declared is the declaration of the table name, for the step that adds it
// to databases made before it.
func declared(name string) *sinks.Table {
	if t := sinks.TableNamed(name); t != nil {
		return t
	}
	panic("sinks: no table " + name) // a programming error: Tables declares it
}

// WriteApplied prints what Migrate applied to the database db.
func WriteApplied(w io.Writer, db string, applied []uint32) {
	if len(applied) == 0 {
		fmt.Fprintf(w, "schema of %s is current\n", db)
		return
	}
	fmt.Fprintf(w, "applied migrations %v to %s\n", applied, db)
}
