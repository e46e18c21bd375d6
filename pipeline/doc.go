// Package pipeline runs cropstream's stages together in one process (each is
// still its own consumer group, so the same stages scale out one per process)
// and knows when they have drained a finite input.
package pipeline
