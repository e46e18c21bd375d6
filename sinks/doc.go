// Package sinks moves the pipeline's topics into analytics tables exactly
// once: rows carry their Kafka partition and offset, and a restart resumes
// each table from the highest offset its store already holds.
package sinks
