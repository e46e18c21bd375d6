// Package shadow compares a shadow model's detections with the serving
// model's on the same frames: boxes, boxes matched one to one by IoU (the
// shadow's precision and recall taking the serving model as the reference),
// latency, and, for cameras the shadow saw whole, the objects the tracker
// counts from each, per camera. Compare is pure; CompareTopics feeds it the
// detections and shadow-detections topics (`cropstream model compare`).
package shadow
