package inference

import (
	"slices"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/proto"

	pb "github.com/cropstream/cropstream/inference/onnxpb"
)

// ortEnv loads ONNX Runtime for tests that run hand-built graphs.
func ortEnv(t *testing.T) {
	t.Helper()
	lib, err := FindLibrary("")
	if err != nil {
		t.Fatal(err)
	}
	if err := initEnv(lib); err != nil {
		t.Fatal(err)
	}
}

// runGraph runs a model of one float input and one float output.
func runGraph(t *testing.T, model []byte, in string, shape []int64, data []float32, out string) []float32 {
	t.Helper()
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{in}, []string{out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	x, err := ort.NewTensor(ort.NewShape(shape...), data)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Destroy()
	outs := []ort.Value{nil}
	if err := s.Run([]ort.Value{x}, outs); err != nil {
		t.Fatal(err)
	}
	defer outs[0].Destroy()
	return slices.Clone(outs[0].(*ort.Tensor[float32]).GetData())
}

// model wraps a graph in a model of opset 17.
func model(t *testing.T, g *pb.GraphProto) []byte {
	t.Helper()
	m := &pb.ModelProto{IrVersion: proto.Int64(8), Graph: g, OpsetImport: []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}}}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A hand-built graph with a Split (sizes as an input, as torch exports
// them) computes the same after SplitToSlice, and has no Split left.
func TestSplitToSlice(t *testing.T) {
	ortEnv(t)
	g := &pb.GraphProto{Name: proto.String("g")}
	e := &graphEditor{g: g, opset: 17}
	sizes := e.ints(1, 3)
	g.Node = []*pb.NodeProto{
		node("Split", []string{"x", sizes}, []string{"a", "b"}, attrInt("axis", 1)),
		node("Concat", []string{"b", "a"}, []string{"y"}, attrInt("axis", 1)),
	}
	g.Input = []*pb.ValueInfoProto{valueInfo("x", pb.TensorProto_FLOAT, 1, 4, 2)}
	g.Output = []*pb.ValueInfoProto{valueInfo("y", pb.TensorProto_FLOAT, 1, 4, 2)}
	orig := model(t, g)
	rewritten, _, err := rewriteModel(orig, ModelInfo{}, Rewrite{SplitToSlice: true})
	if err != nil {
		t.Fatal(err)
	}
	var check pb.ModelProto
	proto.Unmarshal(rewritten, &check)
	for _, n := range check.Graph.Node {
		if n.GetOpType() == "Split" {
			t.Fatal("a Split node is left")
		}
	}
	run := func(m []byte) []float32 {
		return runGraph(t, m, "x", []int64{1, 4, 2}, []float32{1, 2, 3, 4, 5, 6, 7, 8}, "y")
	}
	a, b := run(orig), run(rewritten)
	if !slices.Equal(a, b) || !slices.Equal(a, []float32{3, 4, 5, 6, 7, 8, 1, 2}) {
		t.Fatalf("split %v, sliced %v", a, b)
	}
}

// The per-anchor reduction computed with MaxPool gives what ReduceMax and
// ArgMax give, ties included (the first class wins), on a hand-built head of
// 8 classes.
func TestPoolReduceAgrees(t *testing.T) {
	ortEnv(t)
	// x [1, 3, 4, 6] reshaped to a YOLOv8 head [1, 4+8, 6 anchors].
	g := &pb.GraphProto{Name: proto.String("g")}
	e := &graphEditor{g: g, opset: 17}
	g.Node = []*pb.NodeProto{node("Reshape", []string{"x", e.ints(1, 12, 6)}, []string{"output0"})}
	g.Input = []*pb.ValueInfoProto{valueInfo("x", pb.TensorProto_FLOAT, 1, 3, 4, 6)}
	g.Output = []*pb.ValueInfoProto{valueInfo("output0", pb.TensorProto_FLOAT, 1, 12, 6)}
	orig := model(t, g)
	info := ModelInfo{Input: "x", Output: "output0", Names: make([]string, 8), Layout: LayoutYOLOv8, Anchors: 6}
	x := make([]float32, 72)
	for i := range x {
		x[i] = float32((i*37)%11) / 10 // repeats: ties between classes
	}
	run := func(rw Rewrite) []float32 {
		m, _, err := rewriteModel(orig, info, rw)
		if err != nil {
			t.Fatal(err)
		}
		return runGraph(t, m, "x", []int64{1, 3, 4, 6}, x, ReducedName)
	}
	a, b := run(Rewrite{ReduceOutput: true}), run(Rewrite{ReduceOutput: true, PoolReduce: true})
	if len(a) != 36 || !slices.Equal(a, b) {
		t.Fatalf("ReduceMax/ArgMax %v\nMaxPool %v", a, b)
	}
	// And by hand: anchor 0's classes are x[24], x[30], ... x[66].
	best, cls := float32(-1), -1
	for c := 0; c < 8; c++ {
		if v := x[(4+c)*6]; v > best {
			best, cls = v, c
		}
	}
	if a[4*6] != best || a[5*6] != float32(cls) {
		t.Fatalf("anchor 0: score %v class %v, want %v %v", a[4*6], a[5*6], best, cls)
	}
}
