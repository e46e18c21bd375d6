// Package detect is the detect stage: it reads frames, decodes and letterboxes
// them on a worker pool, runs the detector on batches drawn from all its
// partitions, and emits one Detections record per frame, in per-camera order.
package detect
