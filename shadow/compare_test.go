package shadow

import (
	"testing"

	"github.com/cropstream/cropstream/schema"
)

func det(x1, y1, x2, y2 float32, class uint32) *schema.Detection {
	return &schema.Detection{Box: &schema.Box{X1: x1, Y1: y1, X2: x2, Y2: y2}, ClassId: class, Score: 0.9}
}

func TestCompare(t *testing.T) {
	boxes := []*schema.Detection{det(0, 0, 10, 10, 0), det(20, 20, 30, 30, 0), det(50, 50, 60, 60, 1)}
	serving := []*schema.Detections{
		{CameraId: "a", Sequence: 1, ModelId: "m1", Detections: boxes, InferNs: 10e6},
		{CameraId: "a", Sequence: 2, ModelId: "m1", InferNs: 10e6},
		{CameraId: "b", Sequence: 1, ModelId: "m1", Detections: boxes, InferNs: 10e6},
		{CameraId: "b", Sequence: 2, EndOfStream: true},
	}
	same := []*schema.Detections{
		{CameraId: "a", Sequence: 1, ModelId: "m2", Detections: boxes, InferNs: 20e6},
		{CameraId: "a", Sequence: 2, ModelId: "m2", InferNs: 20e6},
		{CameraId: "b", Sequence: 1, ModelId: "m2", Detections: boxes, InferNs: 20e6},
		{CameraId: "c", Sequence: 9, ModelId: "m2"},
	}
	r := Compare(serving, same, 0.5)
	if r.Total.Frames != 3 || r.Total.Matched != 6 || r.Total.Precision != 1 || r.Total.Recall != 1 || r.Unmatched != 1 {
		t.Fatalf("identical boxes: %+v, unmatched %d", r.Total, r.Unmatched)
	}
	if r.Total.ServingMs != 10 || r.Total.ShadowMs != 20 || r.ServingModels[0] != "m1" || r.ShadowModels[0] != "m2" {
		t.Fatalf("latency or models: %+v %v %v", r.Total, r.ServingModels, r.ShadowModels)
	}
	// Camera b's shadow misses one box, shifts another below the IoU
	// threshold, calls the third another class, and adds a box of its own.
	other := []*schema.Detections{
		same[0], same[1],
		{CameraId: "b", Sequence: 1, ModelId: "m2", Detections: []*schema.Detection{
			det(0, 0, 10, 10, 0), det(26, 26, 36, 36, 0), det(50, 50, 60, 60, 0), det(80, 80, 90, 90, 0)}},
	}
	r = Compare(serving, other, 0.5)
	b := r.Cameras["b"]
	if b.Matched != 1 || b.Precision != 0.25 || b.Recall != 1.0/3 || r.Cameras["a"].Precision != 1 {
		t.Fatalf("camera b: %+v; camera a: %+v", b, r.Cameras["a"])
	}
}
