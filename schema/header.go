package schema

// DetectionsOf starts the Detections record of frame f with the frame's
// header: id, camera, stream, place, capture time, sequence, size and end-of-stream
// mark. The model, classes and boxes are the detector's to add.
func DetectionsOf(f *Frame) *Detections {
	return &Detections{
		FrameId: f.FrameId, CameraId: f.CameraId, StreamId: f.StreamId, FieldId: f.FieldId, BlockId: f.BlockId, RowId: f.RowId,
		CaptureUnixNs: f.CaptureUnixNs, Sequence: f.Sequence, PositionM: f.PositionM, Width: f.Width, Height: f.Height,
		EndOfStream: f.EndOfStream,
	}
}
