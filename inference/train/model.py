"""cropnet: a small anchor-free detector for 2-core CPUs.

Backbone to stride 32 for context, features fused back to stride 8, one
decoupled head (box, class) at stride 8. The exported graph decodes boxes and
emits the Ultralytics YOLOv8 detection layout: [batch, 4 + classes, anchors],
boxes as centre x, centre y, width, height in input pixels, class scores after
a sigmoid.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

STRIDE = 8


class ConvBNAct(nn.Module):
    def __init__(self, cin, cout, k=3, s=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = ConvBNAct(c, c, 3)
        self.b = ConvBNAct(c, c, 3)

    def forward(self, x):
        return x + self.b(self.a(x))


# Channels of the default network (width 1); the stride-8 to stride-32 part
# and the head are what a width multiplies (see widths).
BASE = {"stem": 16, "d2": 24, "d3": 32, "d4": 48, "d5": 64, "fuse": 48, "head": 32}


def widths(width=1.0):
    """Channels per layer group for a width multiplier: the stride-8, 16 and
    32 layers, the fusion and the head scale (rounded up to a multiple of 8,
    the blocking of ONNX Runtime's CPU convolutions); the stride-2 and 4
    layers stay as they are, since they run on 4 to 16 times the pixels and
    only see edges and colour."""
    c = dict(BASE)
    if width != 1.0:
        for k in ("d3", "d4", "d5", "fuse", "head"):
            c[k] = int(math.ceil(BASE[k] * width / 8) * 8)
    return c


class CropNet(nn.Module):
    def __init__(self, nc=3, width=1.0):
        super().__init__()
        self.nc = nc
        c = widths(width)
        self.stem = ConvBNAct(3, c["stem"], 3, 2)     # /2
        self.d2 = ConvBNAct(c["stem"], c["d2"], 3, 2)  # /4
        self.b2 = ConvBNAct(c["d2"], c["d2"], 3, 1)
        self.d3 = ConvBNAct(c["d2"], c["d3"], 3, 2)    # /8
        self.b3 = Block(c["d3"])
        self.d4 = ConvBNAct(c["d3"], c["d4"], 3, 2)    # /16
        self.b4 = Block(c["d4"])
        self.d5 = ConvBNAct(c["d4"], c["d5"], 3, 2)    # /32
        self.b5 = ConvBNAct(c["d5"], c["d5"], 3, 1)
        self.f4 = ConvBNAct(c["d4"] + c["d5"], c["fuse"], 1, 1)
        self.f3 = ConvBNAct(c["d3"] + c["fuse"], c["fuse"], 3, 1)
        self.box = nn.Sequential(ConvBNAct(c["fuse"], c["head"], 3), nn.Conv2d(c["head"], 4, 1))
        self.cls = nn.Sequential(ConvBNAct(c["fuse"], c["head"], 3), nn.Conv2d(c["head"], nc, 1))
        # Start with low scores: most anchors are background.
        nn.init.constant_(self.cls[-1].bias, -4.0)

    def forward(self, x):
        p3 = self.b3(self.d3(self.b2(self.d2(self.stem(x)))))
        p4 = self.b4(self.d4(p3))
        p5 = self.b5(self.d5(p4))
        p4 = self.f4(torch.cat([p4, F.interpolate(p5, scale_factor=2.0, mode="nearest")], 1))
        f = self.f3(torch.cat([p3, F.interpolate(p4, scale_factor=2.0, mode="nearest")], 1))
        return self.box(f), self.cls(f)


def anchor_points(h, w, device=None):
    """Centres of the stride-8 cells, [h*w, 2] in input pixels."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij")
    return torch.stack([(xs.reshape(-1) + 0.5) * STRIDE, (ys.reshape(-1) + 0.5) * STRIDE], 1).float()


def decode_ltrb(raw_box):
    """Raw box output [B,4,h,w] -> distances to left, top, right, bottom in pixels [B,h*w,4]."""
    b = raw_box.shape[0]
    return (F.softplus(raw_box) * STRIDE).reshape(b, 4, -1).permute(0, 2, 1)


class Exported(nn.Module):
    """Wraps CropNet with box decoding for export. The anchor points follow
    the input's height and width, so the exported graph takes any size that
    is a multiple of 32 (the engine's --imgsz); the metadata names the size
    it was trained for."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        box, cls = self.net(x)
        b = box.shape[0]
        points = anchor_points(box.shape[2], box.shape[3]).t().unsqueeze(0)  # [1,2,A]
        d = F.softplus(box).reshape(b, 4, -1) * STRIDE  # l, t, r, b
        x1y1 = points - d[:, 0:2]
        x2y2 = points + d[:, 2:4]
        cxcy = (x1y1 + x2y2) * 0.5
        wh = x2y2 - x1y1
        scores = torch.sigmoid(cls.reshape(b, self.net.nc, -1))
        return torch.cat([cxcy, wh, scores], 1)
