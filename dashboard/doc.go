// Package dashboard is the live web page of a running pipeline and its query
// API: per camera the latest frame with its detections, tracks and trails;
// per block and row the running count and the yield estimate; per stage
// throughput, lag and dead letters; and JSON endpoints answering from the
// goka tables (docs/api.md).
//
// Everything comes from Kafka and the stages' counters, not from inside the
// stages: goka views of the track, aggregate and fields tables, and a franz-go
// consumer of frames, objects and yield that runs only while a page is open
// and reads frames no faster than the track stage applies them, so a process
// without viewers pays for the views alone. Updates reach the browser by
// server-sent events, coalesced per camera and panel: a slow browser skips
// states, it never queues them. The page is plain HTML, CSS and JavaScript
// embedded in the binary.
package dashboard
