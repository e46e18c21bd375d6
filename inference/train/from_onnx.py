"""Recover trainable CropNet weights (.pt) from an exported cropnet ONNX file.

    /usr/bin/python3 inference/train/from_onnx.py models/cropnet.onnx --data out/train-data --out out/cropnet-sim.pt

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

from model import CropNet
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
    args = ap.parse_args()
    model = onnx.load(args.onnx)
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    folded = sorted((k for k in inits if k.startswith("onnx::Conv_")), key=lambda k: int(k.split("_")[-1]))
    if len(folded) != 2 * len(ORDER):
        raise SystemExit("%s: %d folded tensors, want %d (not a cropnet export?)" % (args.onnx, len(folded), 2 * len(ORDER)))
    net = CropNet(len(NAMES))
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
    torch.save(net.state_dict(), args.out)


if __name__ == "__main__":
    main()
