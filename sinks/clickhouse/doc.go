// Package clickhouse stores the analytics tables in ClickHouse over the
// native protocol, manages their schema (migrations, rollups) and retention.
package clickhouse
