// Package fieldmap is the grower's description of a farm as data: fields,
// blocks, rows and plants (YAML), hand counts (CSV), and their compacted topics.
package fieldmap
