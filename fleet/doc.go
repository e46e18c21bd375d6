// Package fleet runs many cameras in one ingest service: a registry of
// cameras kept as data in a compacted topic, one reader per camera that
// reconnects by itself forever, instances sharing the cameras through a
// consumer group over the registry's partitions, and each reader's state
// reported to a compacted topic, the CLI and an HTTP API (docs/cameras.md).
package fleet
