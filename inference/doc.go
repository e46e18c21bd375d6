// Package inference runs object detectors with ONNX Runtime: it loads
// Ultralytics YOLOv8/YOLO11 exports (and end-to-end [batch, N, 6] exports),
// letterboxes frames, runs batches and turns outputs into boxes with NMS.
package inference
