// Package shadow compares a shadow model's detections with the serving
// model's on the same frames: counts, boxes matched one to one by IoU (the
// shadow's precision and recall taking the serving model as the reference)
// and latency, per camera. It is pure; `cropstream model compare` feeds it
// the detections and shadow-detections topics.
package shadow
