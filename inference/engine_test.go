package inference

import (
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/simulator"
)

func shippedModel() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", DefaultModel)
}

func TestShippedModelMetadata(t *testing.T) {
	e, err := New(Config{ModelPath: shippedModel(), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	info := e.Info()
	if strings.Join(info.Names, ",") != strings.Join(simulator.ClassNames, ",") {
		t.Fatalf("class names %v from metadata, want %v", info.Names, simulator.ClassNames)
	}
	if info.Width != 512 || info.Height != 288 || info.Layout != LayoutYOLOv8 || info.Anchors != 64*36 || info.FixedBatch != 0 {
		t.Fatalf("model info %+v", info)
	}
}

// The shipped model finds the fruit in a rendered frame of a scenario it was
// not trained on: most units at least half visible are found, and most boxes
// are fruit.
func TestShippedModelFindsFruit(t *testing.T) {
	e, err := New(Config{ModelPath: shippedModel(), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	sc, err := simulator.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	sim := simulator.New(sc)
	defer sim.Close()
	var f *simulator.Frame
	for i := 0; i < 30; i++ { // well into the row
		if f, err = sim.Next(); err != nil {
			t.Fatal(err)
		}
	}
	pre := NewPreprocessor(512, 288)
	defer pre.Close()
	input := make([]float32, e.InputLen())
	lb, err := pre.Into(*f.Image, input)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Run(input, 1)
	if err != nil {
		t.Fatal(err)
	}
	var dets []Detection
	for _, d := range res[0] {
		dets = append(dets, lb.ToFrame(d))
	}
	found, want := 0, 0
	matched := make([]bool, len(dets))
	for _, b := range f.Boxes {
		if b.Visibility < 0.5 || b.Rect.Min.X < 0 || b.Rect.Max.X > sc.Camera.Width {
			continue
		}
		want++
		g := Detection{X1: float32(b.Rect.Min.X), Y1: float32(b.Rect.Min.Y), X2: float32(b.Rect.Max.X), Y2: float32(b.Rect.Max.Y)}
		for i, d := range dets {
			if !matched[i] && d.Class == b.ClassID && IoU(d, g) >= 0.5 {
				matched[i] = true
				found++
				break
			}
		}
	}
	if want < 20 {
		t.Fatalf("only %d clearly visible units in the frame", want)
	}
	if recall := float64(found) / float64(want); recall < 0.85 {
		t.Fatalf("found %d of %d clearly visible apples (recall %.2f)", found, want, recall)
	}
	if len(dets) > 2*want+20 {
		t.Fatalf("%d boxes for %d visible apples: too many false alarms", len(dets), want)
	}
}

func TestBatchesAgreeWithSingleRuns(t *testing.T) {
	e, err := New(Config{ModelPath: shippedModel(), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	m := gocv.NewMatWithSize(360, 640, gocv.MatTypeCV8UC3)
	defer m.Close()
	pre := NewPreprocessor(512, 288)
	defer pre.Close()
	per := e.InputLen()
	batch := make([]float32, 3*per)
	sc, _ := simulator.Load("citrus")
	sim := simulator.New(sc)
	defer sim.Close()
	for i := 0; i < 3; i++ {
		for k := 0; k < 10; k++ {
			sim.Next()
		}
		f, _ := sim.Next()
		if _, err := pre.Into(*f.Image, batch[i*per:(i+1)*per]); err != nil {
			t.Fatal(err)
		}
	}
	all, err := e.Run(batch, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		one, err := e.Run(batch[i*per:(i+1)*per], 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(one[0]) != len(all[i]) || len(one[0]) == 0 {
			t.Fatalf("image %d: %d boxes alone, %d in a batch", i, len(one[0]), len(all[i]))
		}
	}
	if _, err := e.Run(batch[:per+1], 1); err == nil {
		t.Fatal("wrong input length accepted")
	}
}

func TestMissingLibraryExplainsTheFix(t *testing.T) {
	_, err := FindLibrary("/nonexistent/libonnxruntime.so")
	if !errors.Is(err, ErrLibrary) || !strings.Contains(err.Error(), "scripts/setup.sh") {
		t.Fatalf("err %v, want one that says how to fix it", err)
	}
	if _, err := New(Config{ModelPath: "/nonexistent.onnx"}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing model: %v", err)
	}
}
