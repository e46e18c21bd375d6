package inference

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
	"gocv.io/x/gocv"
	"google.golang.org/protobuf/proto"

	pb "github.com/cropstream/cropstream/inference/onnxpb"
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
	// The tracker's count scores (models/README.md says how they were calibrated).
	if len(info.CountScores) != len(info.Names) {
		t.Fatalf("count_scores %v from metadata, want one per class", info.CountScores)
	}
	for _, s := range info.CountScores {
		if s < 0.5 || s > 0.95 {
			t.Fatalf("count_scores %v from metadata, want the calibrated ones", info.CountScores)
		}
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
	dets := detectFrame(t, e, *f.Image)
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
	for _, sessions := range []int{1, 3} {
		t.Run(fmt.Sprintf("sessions=%d", sessions), func(t *testing.T) { testBatches(t, sessions) })
	}
}

// testBatches: a batch gives each image the boxes it gets alone; with several
// sessions the single runs go at once.
func testBatches(t *testing.T, sessions int) {
	e, err := New(Config{ModelPath: shippedModel(), Threads: 1, Sessions: sessions})
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
	if e.Sessions() != sessions {
		t.Fatalf("%d sessions, want %d", e.Sessions(), sessions)
	}
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			one, err := e.Run(batch[i*per:(i+1)*per], 1)
			if err != nil {
				t.Error(err)
				return
			}
			if len(one[0]) != len(all[i]) || len(one[0]) == 0 {
				t.Errorf("image %d: %d boxes alone, %d in a batch", i, len(one[0]), len(all[i]))
			}
		}()
	}
	wg.Wait()
	if _, err := e.Run(batch[:per+1], 1); err == nil {
		t.Fatal("wrong input length accepted")
	}
}

// A model whose batch is fixed (by the GPU rewrite or at export) takes any
// number of images: fewer are padded, more split, each image gets the boxes
// the dynamic-batch model gives it.
func TestStaticBatchPadsAndSplits(t *testing.T) {
	plain, err := New(Config{ModelPath: shippedModel(), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	fixed, err := New(Config{ModelPath: shippedModel(), Threads: 2, Rewrite: &Rewrite{StaticBatch: 3}})
	if err != nil {
		t.Fatal(err)
	}
	defer fixed.Close()
	if fixed.Info().FixedBatch != 3 {
		t.Fatalf("fixed batch %d, want 3", fixed.Info().FixedBatch)
	}
	pre := NewPreprocessor(512, 288)
	defer pre.Close()
	per := plain.InputLen()
	const n = 7
	input := make([]float32, n*per)
	sc, _ := simulator.Load("default")
	sim := simulator.New(sc)
	defer sim.Close()
	for i := range n {
		for range 4 {
			sim.Next()
		}
		f, _ := sim.Next()
		if _, err := pre.Into(*f.Image, input[i*per:(i+1)*per]); err != nil {
			t.Fatal(err)
		}
	}
	want, err := plain.Run(input, n)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{1, 2, 3, 5, 7} {
		got, err := fixed.Run(input[:k*per], k)
		if err != nil {
			t.Fatalf("batch of %d: %v", k, err)
		}
		if len(got) != k {
			t.Fatalf("batch of %d: %d results", k, len(got))
		}
		for i := range k {
			if len(got[i]) != len(want[i]) || len(want[i]) == 0 {
				t.Fatalf("batch of %d, image %d: %d boxes, want %d", k, i, len(got[i]), len(want[i]))
			}
			for j := range got[i] {
				if g, w := got[i][j], want[i][j]; g.Class != w.Class || abs32(g.Score-w.Score) > 1e-4 || abs32(g.X1-w.X1) > 0.01 {
					t.Fatalf("batch of %d, image %d, box %d: %+v, want %+v", k, i, j, g, w)
				}
			}
		}
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

// The rewrites the CUDA provider needs (Split as Slice, uint8 BGR input with
// normalisation in the graph, per-anchor reduced output) keep the shipped
// model's detections: same boxes, run here on the CPU provider.
func TestRewrittenGraphAgrees(t *testing.T) {
	for _, pool := range []bool{false, true} {
		t.Run(fmt.Sprintf("pool=%v", pool), func(t *testing.T) {
			testRewritten(t, shippedModel(), &Rewrite{SplitToSlice: true, UInt8Input: true, ReduceOutput: true, PoolReduce: pool})
		})
	}
	t.Run("gpu-default", func(t *testing.T) { // as New builds it for CUDA: batch fixed, one image padded
		testRewritten(t, shippedModel(), &Rewrite{SplitToSlice: true, UInt8Input: true, ReduceOutput: true, PoolReduce: true, StaticBatch: 4})
	})
}

// An export whose anchor axis is dynamic (Ultralytics' dynamic=True) gives
// the boxes the shipped model gives, as it is and rewritten for the GPU: the
// anchor count comes from each output's shape.
func TestDynamicAnchorAxis(t *testing.T) {
	data, err := os.ReadFile(shippedModel())
	if err != nil {
		t.Fatal(err)
	}
	var m pb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	// Flatten the output again as torch exports flatten(2), the sizes read
	// from its shape at run time, and declare [batch, channels, anchors] as
	// torch's value_info does: the anchor axis is left open.
	g := m.Graph
	out := g.Output[0].GetName()
	e := &graphEditor{g: g}
	shp, head, want, r, flat := e.name("shape"), e.name("head"), e.name("want"), e.name("r"), e.name("flat")
	g.Node = append(g.Node,
		node("Shape", []string{out}, []string{shp}),
		node("Slice", []string{shp, e.ints(0), e.ints(2)}, []string{head}),
		node("Concat", []string{head, e.ints(-1)}, []string{want}, attrInt("axis", 0)),
		node("Reshape", []string{out, want}, []string{r}),
		node("Identity", []string{r}, []string{flat}))
	g.ValueInfo = append(g.ValueInfo, valueInfo(r, pb.TensorProto_FLOAT, "batch", 7, "anchors"))
	g.Output[0].Name = proto.String(flat)
	dims := g.Output[0].GetType().GetTensorType().GetShape().GetDim()
	dims[2].Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: "anchors"}
	if data, err = proto.Marshal(&m); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dynamic.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ortEnv(t)
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil || len(ins) != 1 || outs[0].Dimensions[2] > 0 {
		t.Fatalf("the test model's anchor axis is not dynamic: %+v %v", outs, err)
	}
	for _, rw := range []*Rewrite{{}, {UInt8Input: true, ReduceOutput: true, PoolReduce: true}} {
		t.Run(fmt.Sprintf("reduce=%v", rw.ReduceOutput), func(t *testing.T) { testRewritten(t, path, rw) })
	}
}

// testRewritten: model loaded with rw finds the boxes the shipped model finds.
func testRewritten(t *testing.T, model string, rewrite *Rewrite) {
	plain, err := New(Config{ModelPath: shippedModel(), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	rw, err := New(Config{ModelPath: model, Threads: 2, Rewrite: rewrite})
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	if info := rw.Info(); rewrite.UInt8Input && (!info.UInt8 || info.Layout != LayoutReduced || info.Input != U8InputName) {
		t.Fatalf("rewritten model info %+v", info)
	}
	sc, _ := simulator.Load("default")
	sim := simulator.New(sc)
	defer sim.Close()
	for k := 0; k < 20; k++ {
		sim.Next()
	}
	f, _ := sim.Next()
	pre := NewPreprocessor(512, 288)
	defer pre.Close()
	fl := make([]float32, plain.InputLen())
	u8 := make([]byte, rw.InputLen())
	if _, err := pre.Into(*f.Image, fl); err != nil {
		t.Fatal(err)
	}
	if _, err := pre.IntoUInt8(*f.Image, u8); err != nil {
		t.Fatal(err)
	}
	a, err := plain.Run(fl, 1)
	if err != nil {
		t.Fatal(err)
	}
	var b [][]Detection
	if rewrite.UInt8Input {
		b, err = rw.RunUInt8(u8, 1)
	} else {
		b, err = rw.Run(fl, 1)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(a[0]) < 10 || len(a[0]) != len(b[0]) {
		t.Fatalf("%d boxes from the model, %d from the rewritten one", len(a[0]), len(b[0]))
	}
	for i := range a[0] {
		x, y := a[0][i], b[0][i]
		if x.Class != y.Class || abs32(x.Score-y.Score) > 1e-4 || abs32(x.X1-y.X1) > 0.01 || abs32(x.Y2-y.Y2) > 0.01 {
			t.Fatalf("box %d: %+v vs %+v", i, x, y)
		}
	}
	if _, err := rw.Run(fl, 1); rewrite.UInt8Input && err == nil {
		t.Fatal("float input accepted by a uint8 model")
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// realModel is models/cropnet-real.onnx, exported with its height and width
// open.
// detectFrame letterboxes img into e's input, runs it and returns the boxes
// in img's pixels.
func detectFrame(t *testing.T, e *Engine, img gocv.Mat) []Detection {
	t.Helper()
	info := e.Info()
	pre := NewPreprocessor(info.Width, info.Height)
	defer pre.Close()
	in := make([]float32, e.InputLen())
	lb, err := pre.Into(img, in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Run(in, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range out[0] {
		out[0][i] = lb.ToFrame(out[0][i])
	}
	return out[0]
}

func realModel() string {
	return filepath.Join(filepath.Dir(shippedModel()), "cropnet-real.onnx")
}

// A model exported with open height and width runs at the size Config
// asks, finding in a frame the boxes it finds at the size it was made for;
// a model of fixed size, or a size off the stride, is refused.
func TestImageSize(t *testing.T) {
	ortEnv(t)
	if _, err := New(Config{ModelPath: shippedModel(), Height: 384, Width: 640}); err == nil || !strings.Contains(err.Error(), "fixed at 288x512") {
		t.Fatalf("a fixed-size model at 384x640: %v", err)
	}
	for _, bad := range [][2]int{{300, 640}, {384, -32}} {
		if _, err := New(Config{ModelPath: realModel(), Height: bad[0], Width: bad[1]}); err == nil || !strings.Contains(err.Error(), "multiples of 32") {
			t.Fatalf("input %dx%d: %v", bad[0], bad[1], err)
		}
	}
	sc, _ := simulator.Load("default")
	sim := simulator.New(sc)
	defer sim.Close()
	for range 20 {
		sim.Next()
	}
	f, _ := sim.Next()
	boxes := func(h, w int) []Detection {
		e, err := New(Config{ModelPath: realModel(), Threads: 2, Height: h, Width: w, ScoreThreshold: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		info := e.Info()
		if !info.OpenSize || h > 0 && (info.Height != h || info.Width != w) || e.InputLen() != 3*info.Height*info.Width {
			t.Fatalf("asked %dx%d: info %+v, input %d floats", h, w, info, e.InputLen())
		}
		return detectFrame(t, e, *f.Image)
	}
	small, big := boxes(0, 0), boxes(384, 640)
	found := 0
	for _, a := range small {
		for _, b := range big {
			if a.Class == b.Class && IoU(a, b) >= 0.5 {
				found++
				break
			}
		}
	}
	if len(small) < 10 || float64(found) < 0.8*float64(len(small)) || len(big) > 2*len(small) {
		t.Fatalf("%d boxes at the model's 288x512, %d at 384x640, %d of the first found again", len(small), len(big), found)
	}
	t.Logf("%d boxes at 288x512, %d at 384x640, %d found again", len(small), len(big), found)
}
