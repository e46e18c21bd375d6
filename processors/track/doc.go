// Package track is the track stage: a ByteTrack-class multi-object tracker per
// camera, compensated for the camera's own motion along the row, that turns
// per-frame detections into one CountedObject per physical object.
package track
