// Package aggregate is the aggregate stage: running totals per block, row and
// plant, deduplicated by object id, turned into yield estimates per window.
package aggregate
