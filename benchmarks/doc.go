// Package benchmarks measures cropstream's stages against the 5 TB/day target
// (57.9 MB/s of frames); results are recorded in results.md.
package benchmarks
