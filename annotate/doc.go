// Package annotate draws what cropstream sees onto video: each frame's
// detections (box, class, score), the tracks (a colour per id, confirmed
// solid), and the running count per class. It runs the detector and the
// tracker directly on the input, with the same tracker code and parameters
// as the track stage (track.State.Step), so what it draws is what the
// pipeline would count on that video, without Kafka.
package annotate
