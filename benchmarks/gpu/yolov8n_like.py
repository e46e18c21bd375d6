"""A YOLOv8n-sized detector for the GPU benchmark: Ultralytics' YOLOv8n
structure (Conv/C2f/SPPF backbone, PAN neck, decoupled head with DFL, 80
classes, 640x640, 3.2M parameters) with random weights - the benchmark
measures compute, not accuracy. C2f's chunk exports to the ONNX Split
operator, as in a real Ultralytics export, so the engine's Split->Slice
rewrite is exercised.

    /usr/bin/python3 benchmarks/gpu/yolov8n_like.py OUT.onnx [--dfl conv|softmax|static] [--raw] [--fp16]

The output is Ultralytics' [B, 84, 8400] (box centre/size in input pixels,
80 class scores). --dfl says how the box distributions are decoded:
  conv     exp, then two grouped 1x1 convolutions (sum of i*e^x_i and of
           e^x_i) and a division: the same result as softmax + expectation
           with only Conv and element-wise ops (default; ONNX Runtime 1.29's
           CUDA plugin provider crashed on Ultralytics' own form);
  softmax  Ultralytics' own form: view with the batch read from the input's
           shape (Shape -> Gather -> Reshape), transpose, Softmax, 1x1 Conv;
  static   the same Softmax with a constant reshape (no Shape/Gather): with
           softmax, it tells which of the two the provider cannot run.
--raw leaves DFL decoding out ([B, 144, 8400] raw head, read as 140
"classes" by the engine).
--fp16 runs backbone, neck and head convolutions in float16 (the weights
stored as float16) and the DFL decoding in float32; input and output stay
float32, so every engine path takes the model as it is.
"""
import sys
import torch
import torch.nn as nn


class Conv(nn.Module):
    def __init__(self, c1, c2, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut=True):
        super().__init__()
        self.cv1, self.cv2, self.add = Conv(c, c, 3), Conv(c, c, 3), shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    def __init__(self, c1, c2, n=1, shortcut=False):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).split((self.c, self.c), 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2):
        super().__init__()
        c = c1 // 2
        self.cv1, self.cv2 = Conv(c1, c, 1), Conv(c * 4, c2, 1)
        self.m = nn.MaxPool2d(5, 1, 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat((x, y1, y2, self.m(y2)), 1))


class DFL(nn.Module):
    def __init__(self, c1=16, form="conv", anchors=8400):
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(c1, dtype=torch.float).view(1, c1, 1, 1)
        self.c1, self.form, self.a = c1, form, anchors
        # Grouped 1x1 convolutions over the 4 sides' 16 bins each.
        self.num = nn.Conv1d(4 * c1, 4, 1, groups=4, bias=False).requires_grad_(False)
        self.den = nn.Conv1d(4 * c1, 4, 1, groups=4, bias=False).requires_grad_(False)
        self.num.weight.data[:] = torch.arange(c1, dtype=torch.float).repeat(4).view(4, c1, 1)
        self.den.weight.data[:] = 1.0

    def forward(self, x):
        if self.form == "conv":
            e = x.exp()
            return self.num(e) / self.den(e)
        if self.form == "static":
            y = x.view(-1, 4, self.c1, self.a).transpose(2, 1).softmax(1)
            return self.conv(y).view(-1, 4, self.a)
        b, _, a = x.shape
        return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)


class Decode(nn.Module):
    """The head's raw [B, 144, A] to Ultralytics' [B, 4+nc, A]."""

    def __init__(self, nc, reg, form, imgsz):
        super().__init__()
        self.nc, self.reg = nc, reg
        anchors, strides = [], []
        for s in (8, 16, 32):
            h = w = imgsz // s
            ys, xs = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
            anchors.append(torch.stack((xs, ys), -1).view(-1, 2))
            strides.append(torch.full((h * w, 1), float(s)))
        self.register_buffer("anchors", torch.cat(anchors).transpose(0, 1).unsqueeze(0))
        self.register_buffer("strides", torch.cat(strides).transpose(0, 1).unsqueeze(0))
        self.dfl = DFL(reg, form, self.anchors.shape[2])

    def forward(self, raw):
        box, cls = raw[:, : 4 * self.reg], raw[:, 4 * self.reg:]
        d = self.dfl(box)
        lt, rb = d[:, :2], d[:, 2:]  # chunk would compute its sizes with Shape -> Gather
        x1y1, x2y2 = self.anchors - lt, self.anchors + rb
        xywh = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * self.strides
        return torch.cat((xywh, cls), 1)


class YOLOv8n(nn.Module):
    def __init__(self, nc=80, imgsz=640, raw=False, dfl="conv"):
        super().__init__()
        self.nc, self.reg, self.raw = nc, 16, raw
        self.b0, self.b1, self.b2 = Conv(3, 16, 3, 2), Conv(16, 32, 3, 2), C2f(32, 32, 1, True)
        self.b3, self.b4 = Conv(32, 64, 3, 2), C2f(64, 64, 2, True)
        self.b5, self.b6 = Conv(64, 128, 3, 2), C2f(128, 128, 2, True)
        self.b7, self.b8, self.b9 = Conv(128, 256, 3, 2), C2f(256, 256, 1, True), SPPF(256, 256)
        self.up = nn.Upsample(None, 2, "nearest")
        self.h12, self.h15 = C2f(384, 128), C2f(192, 64)
        self.h16, self.h18 = Conv(64, 64, 3, 2), C2f(192, 128)
        self.h19, self.h21 = Conv(128, 128, 3, 2), C2f(384, 256)
        ch = (64, 128, 256)
        c2, c3 = max(16, ch[0] // 4, self.reg * 4), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * self.reg, 1)) for x in ch)
        self.cv3 = nn.ModuleList(nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for x in ch)
        # Ultralytics' class-bias prior: nearly every anchor is background, so
        # only a few score above the threshold, as with trained weights (the
        # host then does the NMS work a real model causes, not 8,400 boxes).
        for seq, s in zip(self.cv3, (8, 16, 32)):
            nn.init.constant_(seq[-1].bias, -9.0)
            nn.init.normal_(seq[-1].weight, std=0.01)
        self.decode = Decode(nc, self.reg, dfl, imgsz)

    def forward(self, x):
        x = self.b2(self.b1(self.b0(x)))
        p3 = self.b4(self.b3(x))
        p4 = self.b6(self.b5(p3))
        p5 = self.b9(self.b8(self.b7(p4)))
        n4 = self.h12(torch.cat([self.up(p5), p4], 1))
        n3 = self.h15(torch.cat([self.up(n4), p3], 1))
        n4 = self.h18(torch.cat([self.h16(n3), n4], 1))
        n5 = self.h21(torch.cat([self.h19(n4), p5], 1))
        feats = [n3, n4, n5]
        # The head: [B, 64+nc, 8400], flattened anchors of the three scales.
        raw = torch.cat([torch.cat((self.cv2[i](f), self.cv3[i](f).sigmoid()), 1).flatten(2)
                         for i, f in enumerate(feats)], 2)
        return raw if self.raw else self.decode(raw)


def to_fp16(mp):
    """Stores the weights of every node outside the DFL decoding as float16
    and runs those nodes in float16: a Cast after the input, a Cast to float32
    where the decoding (node names under /decode/) reads what they make."""
    from onnx import TensorProto, helper, numpy_helper
    g = mp.graph
    half = lambda n: not n.name.startswith("/decode/")
    inits = {t.name: t for t in g.initializer}
    consts = {n.output[0]: n for n in g.node if n.op_type == "Constant"}
    # Inputs that are not data: Resize's roi and scales, shape/index operands.
    nondata = {"Resize": {1, 2, 3}, "Reshape": {1}, "Slice": {1, 2, 3, 4}, "Split": {1},
               "Unsqueeze": {1}, "Squeeze": {1}, "Expand": {1}, "Tile": {1}}
    to_half = set()
    for n in g.node:
        if not half(n) or n.op_type == "Constant":
            continue
        for i, x in enumerate(n.input):
            if i in nondata.get(n.op_type, ()):
                continue
            if x in inits and inits[x].data_type == TensorProto.FLOAT:
                to_half.add(x)
            if x in consts:
                to_half.add(x)
    for n in g.node:  # the decoding must keep float32 constants
        if not half(n):
            assert not (set(n.input) & to_half), n.name
    for name in to_half:
        if name in inits:
            t = inits[name]
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype("float16"), name))
        else:
            a = consts[name].attribute[0]
            if a.t.data_type == TensorProto.FLOAT:
                a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype("float16")))
    inp = g.input[0].name
    nodes = [helper.make_node("Cast", [inp], [inp + "_fp16"], to=TensorProto.FLOAT16, name="/cast_in")]
    for n in g.node:
        if n.op_type == "Cast" and half(n):
            assert False, "a Cast in the half region: " + n.name
        if half(n):
            n.input[:] = [inp + "_fp16" if x == inp else x for x in n.input]
    made_half = {o for n in g.node if half(n) for o in n.output}
    for n in g.node:
        if not half(n):
            for i, x in enumerate(n.input):
                if x in made_half:
                    c = x + "_fp32"
                    if not any(m.output[0] == c for m in nodes):
                        nodes.append(helper.make_node("Cast", [x], [c], to=TensorProto.FLOAT, name="/cast" + x))
                    n.input[i] = c
    out = g.output[0].name
    if out in made_half:  # --raw: the whole graph is half
        for n in g.node:
            n.output[:] = [out + "_fp16" if o == out else o for o in n.output]
        g.node.append(helper.make_node("Cast", [out + "_fp16"], [out], to=TensorProto.FLOAT, name="/cast_out"))
    order = list(nodes[:1]) + [n for n in g.node]
    del g.node[:]
    for n in order:
        g.node.append(n)
        for c in nodes[1:]:
            if c.input[0] in n.output:
                g.node.append(c)
    del g.value_info[:]


if __name__ == "__main__":
    import argparse
    import onnx
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--raw", action="store_true")
    ap.add_argument("--dfl", choices=("conv", "softmax", "static"), default="conv")
    ap.add_argument("--fp16", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(0)
    m = YOLOv8n(raw=args.raw, dfl=args.dfl).eval()
    print("parameters", sum(p.numel() for p in m.parameters()))
    x = torch.zeros(1, 3, 640, 640)
    torch.onnx.export(m, x, args.out, input_names=["images"], output_names=["output0"], opset_version=17,
                      dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}})
    mp = onnx.load(args.out)
    if args.fp16:
        to_fp16(mp)
    # As in Ultralytics exports: only the batch is dynamic.
    d = mp.graph.output[0].type.tensor_type.shape.dim
    d[1].Clear()
    d[1].dim_value = 144 if args.raw else 84
    names = "{" + ", ".join(f"{i}: 'class{i}'" for i in range(140 if args.raw else 80)) + "}"
    for k, v in (("names", names), ("imgsz", "[640, 640]"), ("stride", "32")):
        e = mp.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(mp)
    onnx.save(mp, args.out)
    print("wrote", args.out, "ops", sorted({n.op_type for n in mp.graph.node}))
