// Package simulator renders what a camera moving along a crop row sees, with
// ground truth for every fruit or cluster: the source for tests, benchmarks,
// model training and the demo. Same scenario and seed, same bytes.
package simulator
