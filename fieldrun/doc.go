// Package fieldrun runs a simulated field through the production path (field map,
// hand counts, ingest, stages, self-closing windows) and scores it, or serves the stages.
package fieldrun
