// Package evaluation scores cropstream's output against the simulator's truth:
// detection precision, recall and average precision; tracking by the
// project's own rules (MOTEval) and by TrackEval's (ScoreStandard: HOTA,
// CLEAR MOT, identity metrics); a ByteTrack reference tracker to compare
// with; and what a perfect detector would emit (TruthDetections).
package evaluation
