"""Recover trainable CropNet weights (.pt) from an exported cropnet ONNX file,
optionally widened to a larger --width that computes the same function.

    /usr/bin/python3 inference/train/from_onnx.py models/cropnet.onnx --data out/train-data --out out/cropnet-sim.pt
    /usr/bin/python3 inference/train/from_onnx.py models/cropnet-real.onnx --width 1.5 --data out/train-data --out out/w15.pt

The export folds each batch norm into its convolution, so the file holds a
convolution weight and bias per layer, not the batch-norm parameters. The
recovered net computes exactly what the file does: each batch norm is given
the mean and variance of its convolution's output over a few training images
as running statistics, and a scale and shift that undo them, plus the folded
bias. In training mode the batch statistics are then close to the running
ones, so fine-tuning (train.py --init) starts from the shipped model's
behaviour instead of a shifted one.
"""
import argparse

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from model import BASE, CropNet
from train import H, NAMES, W, load

# Convolutions in the order the export numbers their folded weights (the
# order of CropNet.forward).
ORDER = ["stem", "d2", "b2", "d3", "b3.a", "b3.b", "d4", "b4.a", "b4.b", "d5", "b5", "f4", "f3", "box.0", "cls.0"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("onnx")
    ap.add_argument("--data", required=True, help="simulator exports (as train.py --data) for the statistics")
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--out", required=True)
    ap.add_argument("--width", type=float, default=0, help="widen to this width multiplier (model.py widths); 0: keep the file's")
    args = ap.parse_args()
    model = onnx.load(args.onnx)
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    folded = sorted((k for k in inits if k.startswith("onnx::Conv_")), key=lambda k: int(k.split("_")[-1]))
    if len(folded) != 2 * len(ORDER):
        raise SystemExit("%s: %d folded tensors, want %d (not a cropnet export?)" % (args.onnx, len(folded), 2 * len(ORDER)))
    # The file's width, from its stride-8 channels (model.widths rounds the
    # rest consistently; the shape checks below catch a mismatch).
    file_width = inits[folded[2 * ORDER.index("d3")]].shape[0] / BASE["d3"]
    net = CropNet(len(NAMES), file_width)
    mods = dict(net.named_modules())
    bias = {}
    for i, name in enumerate(ORDER):
        w, b = inits[folded[2 * i]], inits[folded[2 * i + 1]]
        m = mods[name]
        if tuple(m.conv.weight.shape) != w.shape:
            raise SystemExit("%s: weight %s, want %s" % (name, w.shape, tuple(m.conv.weight.shape)))
        with torch.no_grad():
            m.conv.weight.copy_(torch.from_numpy(w))
            m.bn.running_mean.zero_()
            m.bn.running_var.fill_(1 - m.bn.eps)
            m.bn.weight.fill_(1)
            m.bn.bias.copy_(torch.from_numpy(b))
        bias[name] = torch.from_numpy(b)
    for name in ["box.1", "cls.1"]:
        with torch.no_grad():
            mods[name].weight.copy_(torch.from_numpy(inits["net.%s.weight" % name]))
            mods[name].bias.copy_(torch.from_numpy(inits["net.%s.bias" % name]))
    items = load(args.data)
    items = items[:: max(1, len(items) // args.images)][: args.images]
    x = torch.from_numpy(np.stack([im[:, :, ::-1].transpose(2, 0, 1) for im, _, _ in items]).copy()).float() / 255
    stats = {}

    def hook(name):
        def f(_, __, out):
            stats[name] = (out.mean((0, 2, 3)), out.var((0, 2, 3)))
        return f

    hooks = [mods[n].conv.register_forward_hook(hook(n)) for n in ORDER]
    net.eval()
    with torch.no_grad():
        before = net(x)
    for h in hooks:
        h.remove()
    # The scale and shift undo the statistics, so each layer's output (and so
    # every later layer's input) is unchanged.
    for name in ORDER:
        bn = mods[name].bn
        m, v = stats[name]
        with torch.no_grad():
            bn.running_mean.copy_(m)
            bn.running_var.copy_(v)
            bn.weight.copy_(torch.sqrt(v + bn.eps))
            bn.bias.copy_(m + bias[name])
    with torch.no_grad():
        after = net(x)
    diff = max((a - b).abs().max().item() for a, b in zip(before, after))
    print("recovered from %s; largest output change %.2e on %d images (%dx%d)" % (args.onnx, diff, len(items), W, H))
    if diff > 1e-3:
        raise SystemExit("recovery changed the outputs")
    if args.width and args.width != file_width:
        wide = widen(net, file_width, args.width)
        wide.eval()
        with torch.no_grad():
            out = wide(x)
        diff = max((a - b).abs().max().item() for a, b in zip(after, out))
        print("widened from width %g (%d parameters) to %g (%d); largest output change %.2e" % (
            file_width, sum(p.numel() for p in net.parameters()), args.width, sum(p.numel() for p in wide.parameters()), diff))
        if diff > 1e-3:
            raise SystemExit("widening changed the outputs")
        net = wide
    torch.save(net.state_dict(), args.out)


def input_channels(net, name):
    """Where each input channel of convolution `name` comes from, as
    (tensor, channel) pairs in order: the fusion layers read two tensors
    concatenated, so an old channel's index moves when the first widens."""
    mods = dict(net.named_modules())
    cat = {"f4": ["d4", "d5"], "f3": ["d3", "f4"]}
    if name in cat:
        return [(src, c) for src in cat[name] for c in range(mods[src].conv.out_channels)]
    n = mods[name].in_channels if isinstance(mods[name], torch.nn.Conv2d) else mods[name].conv.in_channels
    return [("", c) for c in range(n)]


def widen(net, width, new_width):
    """A CropNet of new_width computing exactly what net (of width) does."""
    torch.manual_seed(0)
    wide = CropNet(net.nc, new_width)
    old_sd, sd = net.state_dict(), wide.state_dict()
    convs = {n for n, m in net.named_modules() if isinstance(m, torch.nn.Conv2d)}
    for key, old in old_sd.items():
        new = sd[key]
        if old.shape == new.shape:
            new.copy_(old)
            continue
        module = key.rsplit(".", 1)[0]
        o = old.shape[0]
        if module in convs and old.dim() == 4:
            layer = module[:-len(".conv")] if module.endswith(".conv") else module
            pos = {src: i for i, src in enumerate(input_channels(wide, layer))}
            idx = torch.tensor([pos[src] for src in input_channels(net, layer)])
            new[:o].zero_()
            new[:o, idx] = old
        else:
            new[:o] = old
    wide.load_state_dict(sd)
    return wide


if __name__ == "__main__":
    main()
