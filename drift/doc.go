// Package drift compares what a camera shows the detector now with what the
// model saw when it was calibrated: per camera, a sliding window of frame
// features (detection scores, boxes per frame, box sizes, image brightness
// and contrast) against reference samples stored beside the model, as the
// Kolmogorov-Smirnov statistic and the population stability index. It is
// pure: the detect stage feeds it and the metrics package reads it.
package drift
