package inference

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	pb "github.com/cropstream/cropstream/inference/onnxpb"
)

// Rewrite says how the engine adapts a model's graph when it loads it.
type Rewrite struct {
	// SplitToSlice replaces Split nodes by one Slice per output: ONNX
	// Runtime 1.29's CUDA plugin provider crashes on Split (docs/DESIGN.md, GPU graphs), and every
	// Ultralytics C2f block has one.
	SplitToSlice bool
	// UInt8Input makes the model take the letterboxed frame as it is in
	// memory, [batch, height, width, 3] BGR bytes, and do the cast, HWC->CHW,
	// BGR->RGB and /255 in the graph: a quarter of the bytes to the GPU and no
	// float conversion on the CPU.
	UInt8Input bool
	// ReduceOutput replaces a [batch, 4+classes, anchors] output by
	// [batch, 6, anchors]: box, best score and its class per anchor, so 6
	// floats an anchor leave the GPU instead of 4+classes (84 for COCO).
	ReduceOutput bool
	// PoolReduce computes ReduceOutput's best score and class with MaxPool,
	// Equal and arithmetic instead of ReduceMax and ArgMax: operators the
	// CUDA plugin provider ran on both a YOLOv8n-sized head and the shipped
	// model (benchmarks/results.md), so the first GPU variant tried.
	PoolReduce bool
	// StaticBatch fixes the batch axis of the input and the outputs to this
	// size (0 leaves it). With the input's shape static, ONNX Runtime infers
	// every shape when it loads the model; the CUDA plugin provider crashed
	// (SIGSEGV) on any node fed a tensor whose shape it could not infer, such
	// as all of YOLOv8's box decoding after torch's flatten (docs/DESIGN.md). The
	// engine pads a smaller batch and splits a larger one.
	StaticBatch int
}

// Names of what a rewrite adds.
const (
	U8InputName  = "images_u8"
	ReducedName  = "dets"
	rewritePrefx = "cropstream_"
)

type graphEditor struct {
	g     *pb.GraphProto
	opset int64
	n     int
	used  map[string]bool
}

// name returns a tensor name the graph does not use yet.
func (e *graphEditor) name(s string) string {
	if e.used == nil {
		e.used = map[string]bool{}
		for _, t := range e.g.Initializer {
			e.used[t.GetName()] = true
		}
		for _, n := range e.g.Node {
			for _, o := range n.Output {
				e.used[o] = true
			}
		}
		for _, v := range e.g.Input {
			e.used[v.GetName()] = true
		}
	}
	for {
		e.n++
		if n := fmt.Sprintf("%s%s_%d", rewritePrefx, s, e.n); !e.used[n] {
			e.used[n] = true
			return n
		}
	}
}

func (e *graphEditor) ints(vals ...int64) string {
	name := e.name("const")
	raw := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	e.g.Initializer = append(e.g.Initializer, &pb.TensorProto{Name: proto.String(name),
		DataType: proto.Int32(int32(pb.TensorProto_INT64)), Dims: []int64{int64(len(vals))}, RawData: raw})
	return name
}

func node(op string, in, out []string, attrs ...*pb.AttributeProto) *pb.NodeProto {
	return &pb.NodeProto{OpType: proto.String(op), Input: in, Output: out, Attribute: attrs, Name: proto.String(rewritePrefx + op + "_" + out[0])}
}

func attrInt(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrInts(name string, v ...int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum(), Ints: v}
}

// int64Values reads a constant int64 tensor (an initializer or a Constant
// node's value) named name.
func (e *graphEditor) int64Values(name string) ([]int64, bool) {
	var t *pb.TensorProto
	for _, in := range e.g.Initializer {
		if in.GetName() == name {
			t = in
		}
	}
	for _, n := range e.g.Node {
		if n.GetOpType() == "Constant" && len(n.Output) == 1 && n.Output[0] == name {
			for _, a := range n.Attribute {
				if a.GetName() == "value" {
					t = a.T
				}
			}
		}
	}
	if t == nil || t.GetDataType() != int32(pb.TensorProto_INT64) {
		return nil, false
	}
	if len(t.Int64Data) > 0 {
		return t.Int64Data, true
	}
	out := make([]int64, len(t.RawData)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(t.RawData[8*i:]))
	}
	return out, true
}

// dimOf finds a static size of axis of tensor name from the graph's
// declared shapes.
func (e *graphEditor) dimOf(name string, axis int64) (int64, bool) {
	var vis []*pb.ValueInfoProto
	vis = append(vis, e.g.Input...)
	vis = append(vis, e.g.ValueInfo...)
	vis = append(vis, e.g.Output...)
	for _, v := range vis {
		if v.GetName() != name {
			continue
		}
		dims := v.GetType().GetTensorType().GetShape().GetDim()
		if axis < 0 {
			axis += int64(len(dims))
		}
		if axis >= 0 && int(axis) < len(dims) && dims[axis].GetDimValue() > 0 {
			return dims[axis].GetDimValue(), true
		}
	}
	return 0, false
}

func (e *graphEditor) splitToSlice() (int, error) {
	var out []*pb.NodeProto
	count := 0
	for _, n := range e.g.Node {
		if n.GetOpType() != "Split" || (n.GetDomain() != "" && n.GetDomain() != "ai.onnx") {
			out = append(out, n)
			continue
		}
		axis := int64(0)
		var sizes []int64
		for _, a := range n.Attribute {
			switch a.GetName() {
			case "axis":
				axis = a.GetI()
			case "split":
				sizes = a.Ints
			}
		}
		if len(n.Input) > 1 && n.Input[1] != "" {
			v, ok := e.int64Values(n.Input[1])
			if !ok {
				return count, fmt.Errorf("split node %s: sizes %s are not a constant", n.GetName(), n.Input[1])
			}
			sizes = v
		}
		if len(sizes) == 0 { // equal parts
			d, ok := e.dimOf(n.Input[0], axis)
			if !ok || d%int64(len(n.Output)) != 0 {
				return count, fmt.Errorf("split node %s: cannot tell the size of axis %d of %s", n.GetName(), axis, n.Input[0])
			}
			for range n.Output {
				sizes = append(sizes, d/int64(len(n.Output)))
			}
		}
		if len(sizes) != len(n.Output) {
			return count, fmt.Errorf("split node %s: %d sizes for %d outputs", n.GetName(), len(sizes), len(n.Output))
		}
		axes := e.ints(axis)
		start := int64(0)
		for i, o := range n.Output {
			end := start + sizes[i]
			if o != "" {
				out = append(out, node("Slice", []string{n.Input[0], e.ints(start), e.ints(end), axes}, []string{o}))
			}
			start = end
		}
		count++
	}
	e.g.Node = out
	return count, nil
}

func tensorType(vi *pb.ValueInfoProto) pb.TensorProto_DataType {
	return pb.TensorProto_DataType(vi.GetType().GetTensorType().GetElemType())
}

func valueInfo(name string, typ pb.TensorProto_DataType, dims ...any) *pb.ValueInfoProto {
	var ds []*pb.TensorShapeProto_Dimension
	for _, d := range dims {
		switch v := d.(type) {
		case int:
			ds = append(ds, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(v)}})
		case string:
			ds = append(ds, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: v}})
		}
	}
	return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(typ)), Shape: &pb.TensorShapeProto{Dim: ds}}}}}
}

func (e *graphEditor) uint8Input(info ModelInfo) error {
	var orig *pb.ValueInfoProto
	var rest []*pb.ValueInfoProto
	for _, in := range e.g.Input {
		if in.GetName() == info.Input {
			orig = in
		} else {
			rest = append(rest, in)
		}
	}
	if orig == nil {
		return fmt.Errorf("input %s not in the graph", info.Input)
	}
	typ := tensorType(orig)
	if typ != pb.TensorProto_FLOAT && typ != pb.TensorProto_FLOAT16 {
		return fmt.Errorf("input %s is %v, want float or float16", info.Input, typ)
	}
	f32, chw, norm := e.name("f32"), e.name("chw"), e.name("norm")
	// BGR->RGB and /255 as one 1x1 convolution: a Slice with a negative
	// step here crashed the CUDA plugin provider; Conv is its bread and butter.
	var w [9]float32
	for o := 0; o < 3; o++ {
		w[3*o+(2-o)] = 1.0 / 255
	}
	wname := e.name("bgr2rgb")
	raw := make([]byte, 0, 36)
	for _, v := range w {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	e.g.Initializer = append(e.g.Initializer, &pb.TensorProto{Name: proto.String(wname),
		DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), Dims: []int64{3, 3, 1, 1}, RawData: raw})
	prefix := []*pb.NodeProto{
		node("Cast", []string{U8InputName}, []string{f32}, attrInt("to", int64(pb.TensorProto_FLOAT))),
		node("Transpose", []string{f32}, []string{chw}, attrInts("perm", 0, 3, 1, 2)),
	}
	if typ == pb.TensorProto_FLOAT16 {
		prefix = append(prefix,
			node("Conv", []string{chw, wname}, []string{norm}),
			node("Cast", []string{norm}, []string{info.Input}, attrInt("to", int64(pb.TensorProto_FLOAT16))))
	} else {
		prefix = append(prefix, node("Conv", []string{chw, wname}, []string{info.Input}))
	}
	e.g.Node = append(prefix, e.g.Node...)
	e.g.Input = append([]*pb.ValueInfoProto{valueInfo(U8InputName, pb.TensorProto_UINT8, batchDim(info), info.Height, info.Width, 3)}, rest...)
	return nil
}

func (e *graphEditor) reduceOutput(info ModelInfo, pool bool) error {
	var orig *pb.ValueInfoProto
	for _, o := range e.g.Output {
		if o.GetName() == info.Output {
			orig = o
		}
	}
	if orig == nil {
		return fmt.Errorf("output %s not in the graph", info.Output)
	}
	nc := int64(len(info.Names))
	x := info.Output
	var nodes []*pb.NodeProto
	if tensorType(orig) == pb.TensorProto_FLOAT16 {
		// ReduceMax/ArgMax in float16 crash the CUDA plugin provider (docs/DESIGN.md).
		x32 := e.name("out32")
		nodes = append(nodes, node("Cast", []string{x}, []string{x32}, attrInt("to", int64(pb.TensorProto_FLOAT))))
		x = x32
	}
	if info.Layout == LayoutYOLOv8T {
		xt := e.name("outT")
		nodes = append(nodes, node("Transpose", []string{x}, []string{xt}, attrInts("perm", 0, 2, 1)))
		x = xt
	} else if info.Layout != LayoutYOLOv8 {
		return fmt.Errorf("output layout %v has no per-anchor reduction", info.Layout)
	}
	box, cls, score, idx, idxf := e.name("box"), e.name("cls"), e.name("score"), e.name("idx"), e.name("idxf")
	axis1 := e.ints(1)
	nodes = append(nodes,
		node("Slice", []string{x, e.ints(0), e.ints(4), axis1}, []string{box}),
		node("Slice", []string{x, e.ints(4), e.ints(4 + nc), axis1}, []string{cls}))
	if pool {
		nodes = append(nodes, e.poolMax(cls, nc, score, idxf)...)
	} else {
		reduce := node("ReduceMax", []string{cls}, []string{score}, attrInts("axes", 1), attrInt("keepdims", 1))
		if e.opset >= 18 {
			reduce = node("ReduceMax", []string{cls, e.ints(1)}, []string{score}, attrInt("keepdims", 1))
		}
		nodes = append(nodes, reduce,
			node("ArgMax", []string{cls}, []string{idx}, attrInt("axis", 1), attrInt("keepdims", 1)),
			node("Cast", []string{idx}, []string{idxf}, attrInt("to", int64(pb.TensorProto_FLOAT))))
	}
	nodes = append(nodes, node("Concat", []string{box, score, idxf}, []string{ReducedName}, attrInt("axis", 1)))
	e.g.Node = append(e.g.Node, nodes...)
	e.g.Output = []*pb.ValueInfoProto{valueInfo(ReducedName, pb.TensorProto_FLOAT, batchDim(info), 6, anchorsDim(info))}
	return nil
}

// batchDim is the batch axis for a declared shape.
func batchDim(info ModelInfo) any {
	if info.FixedBatch > 0 {
		return info.FixedBatch
	}
	return "batch"
}

// staticBatch fixes the batch axis of the input named in and of every output.
func (e *graphEditor) staticBatch(in string, b int) error {
	found := false
	for _, v := range append(append([]*pb.ValueInfoProto{}, e.g.Input...), e.g.Output...) {
		dims := v.GetType().GetTensorType().GetShape().GetDim()
		if len(dims) == 0 {
			return fmt.Errorf("%s has no declared shape", v.GetName())
		}
		if d := dims[0].GetDimValue(); d > 0 && d != int64(b) {
			return fmt.Errorf("%s has a fixed batch of %d, not %d", v.GetName(), d, b)
		}
		dims[0].Value = &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(b)}
		found = found || v.GetName() == in
	}
	if !found {
		return fmt.Errorf("input %s not in the graph", in)
	}
	// Shapes recorded at export name the batch; let the runtime infer them anew.
	e.g.ValueInfo = nil
	return nil
}

// anchorsDim is the anchor axis for a declared output shape: the model's
// size, or a named dynamic axis where the export left it open.
func anchorsDim(info ModelInfo) any {
	if info.Anchors > 0 {
		return info.Anchors
	}
	return "anchors"
}

// poolMax computes, for cls [batch, nc, anchors], the best score per anchor
// (score, [batch, 1, anchors]) and the first class that has it as a float
// (class, same shape), with MaxPool over the class axis: the maximum of
// (nc - c) over the classes c scoring the maximum is nc - the first of them.
func (e *graphEditor) poolMax(cls string, nc int64, score, class string) []*pb.NodeProto {
	c4, s4, eq, eqf, rank, ranked, best := e.name("cls4"), e.name("score4"), e.name("eq"), e.name("eqf"), e.name("rank"), e.name("ranked"), e.name("best")
	bestc, ncT := e.name("bestc"), e.name("nc")
	ranks := make([]float32, nc)
	for c := range ranks {
		ranks[c] = float32(nc) - float32(c)
	}
	e.g.Initializer = append(e.g.Initializer,
		&pb.TensorProto{Name: proto.String(rank), DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), Dims: []int64{1, 1, nc, 1}, FloatData: ranks},
		&pb.TensorProto{Name: proto.String(ncT), DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), Dims: []int64{}, FloatData: []float32{float32(nc)}})
	pool := node("MaxPool", []string{c4}, []string{s4}, attrInts("kernel_shape", nc, 1))
	poolRank := node("MaxPool", []string{ranked}, []string{best}, attrInts("kernel_shape", nc, 1))
	return []*pb.NodeProto{
		node("Unsqueeze", []string{cls, e.ints(1)}, []string{c4}), // [B, 1, nc, A]: NCHW for MaxPool
		pool,
		node("Equal", []string{c4, s4}, []string{eq}),
		node("Cast", []string{eq}, []string{eqf}, attrInt("to", int64(pb.TensorProto_FLOAT))),
		node("Mul", []string{eqf, rank}, []string{ranked}),
		poolRank,
		node("Sub", []string{ncT, best}, []string{bestc}),
		node("Squeeze", []string{s4, e.ints(1)}, []string{score}),
		node("Squeeze", []string{bestc, e.ints(1)}, []string{class}),
	}
}

// rewriteModel applies rw to a model file's bytes and returns the new bytes
// and what changed in its description.
func rewriteModel(data []byte, info ModelInfo, rw Rewrite) ([]byte, ModelInfo, error) {
	var m pb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return nil, info, fmt.Errorf("inference: parse model: %w", err)
	}
	e := &graphEditor{g: m.Graph}
	for _, o := range m.OpsetImport {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			e.opset = o.GetVersion()
		}
	}
	if e.opset < 13 && (rw.UInt8Input || rw.ReduceOutput || rw.SplitToSlice) {
		return nil, info, fmt.Errorf("inference: model opset %d; rewrites need opset 13 or newer (re-export it)", e.opset)
	}
	if rw.StaticBatch > 0 {
		if err := e.staticBatch(info.Input, rw.StaticBatch); err != nil {
			return nil, info, fmt.Errorf("inference: static batch: %w", err)
		}
		info.FixedBatch = rw.StaticBatch
	}
	if rw.SplitToSlice {
		if _, err := e.splitToSlice(); err != nil {
			return nil, info, fmt.Errorf("inference: %w", err)
		}
	}
	if rw.UInt8Input {
		if err := e.uint8Input(info); err != nil {
			return nil, info, fmt.Errorf("inference: uint8 input: %w", err)
		}
		info.Input, info.UInt8 = U8InputName, true
	}
	if rw.ReduceOutput && info.Layout != LayoutEndToEnd {
		if err := e.reduceOutput(info, rw.PoolReduce); err != nil {
			return nil, info, fmt.Errorf("inference: reduce output: %w", err)
		}
		info.Output, info.Layout = ReducedName, LayoutReduced
	}
	out, err := proto.Marshal(&m)
	if err != nil {
		return nil, info, fmt.Errorf("inference: write model: %w", err)
	}
	return out, info, nil
}
