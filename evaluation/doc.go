// Package evaluation scores cropstream's output against the simulator's truth:
// detection precision, recall and average precision.
package evaluation
