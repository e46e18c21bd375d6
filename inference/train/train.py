"""Train cropnet on YOLO-format simulator exports (and real photos in an
Ultralytics data set) and export it to ONNX.

    /usr/bin/python3 inference/train/make_data.py --out out/train-data
    /usr/bin/python3 inference/train/train.py --data out/train-data --out models/cropnet.onnx
    # with real photos too (scripts/applebbch81.sh), from the shipped weights:
    /usr/bin/python3 inference/train/train.py --data out/train-data --real out/applebbch81/data.yaml --init out/cropnet-sim.pt ...
    # a wider network, started from a trained one's function (from_onnx.py --width):
    /usr/bin/python3 inference/train/train.py --width 1.5 --init out/w15.pt --data out/train-data --real ...

Input is 512x288 (a 16:9 camera frame scaled by 0.4, other aspect ratios are
letterboxed by the engine). Deterministic given --seed, on one machine.
"""
import argparse
import copy
import glob
import re
import math
import os
import random
import time

import cv2
import numpy as np
import onnx
import torch
import torch.nn.functional as F

from model import STRIDE, CropNet, Exported, anchor_points, decode_ltrb

W, H = 512, 288
NAMES = ["apple", "citrus", "grape_cluster"]


def letterbox(img):
    h, w = img.shape[:2]
    r = min(W / w, H / h)
    nw, nh = round(w * r), round(h * r)
    out = np.full((H, W, 3), 114, np.uint8)
    dx, dy = (W - nw) // 2, (H - nh) // 2
    out[dy:dy + nh, dx:dx + nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return out, r, dx, dy


def load(data_dir):
    items = []
    for img_path in sorted(glob.glob(os.path.join(data_dir, "*", "yolo", "images", "*.jpg"))):
        lab = img_path.replace(os.sep + "images" + os.sep, os.sep + "labels" + os.sep)[:-4] + ".txt"
        img = cv2.imread(img_path)
        h, w = img.shape[:2]
        lb, r, dx, dy = letterbox(img)
        boxes = []
        if os.path.exists(lab):
            for line in open(lab):
                c, cx, cy, bw, bh = line.split()
                cx, cy, bw, bh = float(cx) * w, float(cy) * h, float(bw) * w, float(bh) * h
                boxes.append([int(c), (cx - bw / 2) * r + dx, (cy - bh / 2) * r + dy, (cx + bw / 2) * r + dx, (cy + bh / 2) * r + dy])
        items.append((lb, np.array(boxes, np.float32).reshape(-1, 5), img_path))
    return items


# Real tiles are kept in memory at the largest scale the mosaic draws
# (--real-scale), not at full size: a 640x640 tile at 0.6 is 384x384, and
# AppleBBCH81's training split at full size takes 1.8 GB.
REAL_KEEP = 0.6
REAL_SCALE = (0.38, 0.6)


def yaml_names(path):
    """Class names of an Ultralytics data.yaml: `names:` as a list, an inline
    list, or `i: name` lines (no YAML library in Debian's torch set-up is
    needed for this much)."""
    text = open(path).read()
    m = re.search(r"^names:\s*\[(.*?)\]", text, re.M | re.S)
    if m:
        return [n.strip().strip("'\"") for n in m.group(1).split(",") if n.strip()]
    names = {}
    block = re.search(r"^names:\s*\n((?:[ \t]+.*\n?)*)", text, re.M)
    if not block:
        raise SystemExit("%s: no names" % path)
    for i, line in enumerate(block.group(1).splitlines()):
        line = line.strip()
        if line.startswith("- "):
            names[i] = line[2:].strip().strip("'\"")
        elif ":" in line:
            k, v = line.split(":", 1)
            names[int(k)] = v.strip().strip("'\"")
    return [names[i] for i in sorted(names)]


def load_real(yaml_path, split="train"):
    """Tiles of a split of an Ultralytics data set (its image folder, named
    in the yaml relative to the yaml's folder, and the labels/ beside
    images/), classes mapped by name onto NAMES. Returns (image at
    REAL_KEEP scale, boxes in its pixels, path)."""
    text = open(yaml_path).read()
    m = re.search(r"^%s:\s*(\S+)" % split, text, re.M)
    if not m:
        raise SystemExit("%s: no %s split" % (yaml_path, split))
    image_dir = os.path.join(os.path.dirname(os.path.abspath(yaml_path)), m.group(1))
    names = yaml_names(yaml_path)
    mapping = {}
    for i, n in enumerate(names):
        if n not in NAMES:
            raise SystemExit("%s: class %r is not one of the model's %s" % (yaml_path, n, NAMES))
        mapping[i] = NAMES.index(n)
    items = []
    for img_path in sorted(glob.glob(os.path.join(image_dir, "*.jpg"))):
        # Ultralytics' rule: the last images/ of the path becomes labels/.
        head, _, tail = img_path.rpartition(os.sep + "images" + os.sep)
        lab = head + os.sep + "labels" + os.sep + tail[:-4] + ".txt"
        img = cv2.imread(img_path)
        h, w = img.shape[:2]
        img = cv2.resize(img, (round(w * REAL_KEEP), round(h * REAL_KEEP)), interpolation=cv2.INTER_AREA)
        h, w = img.shape[:2]
        boxes = []
        if os.path.exists(lab):
            for line in open(lab):
                if not line.strip():
                    continue
                c, cx, cy, bw, bh = line.split()
                cx, cy, bw, bh = float(cx) * w, float(cy) * h, float(bw) * w, float(bh) * h
                boxes.append([mapping[int(c)], cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2])
        items.append((img, np.array(boxes, np.float32).reshape(-1, 5), img_path))
    return items


def place(canvas, img, boxes, x0, x1, s, rnd):
    """Scale a real tile by s and put a random part of it into columns
    x0..x1 of canvas (all rows); returns its boxes in canvas pixels, those
    cut to less than 45 % of their area dropped."""
    big = cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_AREA)
    cw, ch = x1 - x0, canvas.shape[0]
    # Offset of the tile in the slot: negative crops it, positive pads it.
    ox = rnd.randint(min(0, cw - big.shape[1]), max(0, cw - big.shape[1]))
    oy = rnd.randint(min(0, ch - big.shape[0]), max(0, ch - big.shape[0]))
    sx, sy, dx, dy = max(0, -ox), max(0, -oy), max(0, ox), max(0, oy)
    w, h = min(cw - dx, big.shape[1] - sx), min(ch - dy, big.shape[0] - sy)
    canvas[dy:dy + h, x0 + dx:x0 + dx + w] = big[sy:sy + h, sx:sx + w]
    b = boxes.copy()
    b[:, 1:] = b[:, 1:] * s + np.array([x0 + ox, oy, x0 + ox, oy], np.float32)
    return clip_boxes(b, x0 + dx, dy, x0 + dx + w, dy + h)


def clip_boxes(boxes, x0, y0, x1, y1):
    area = (boxes[:, 3] - boxes[:, 1]) * (boxes[:, 4] - boxes[:, 2])
    c = boxes.copy()
    c[:, [1, 3]] = c[:, [1, 3]].clip(x0, x1)
    c[:, [2, 4]] = c[:, [2, 4]].clip(y0, y1)
    carea = (c[:, 3] - c[:, 1]).clip(0) * (c[:, 4] - c[:, 2]).clip(0)
    return c[carea > 0.45 * area]


def real_sample(items, i, rnd):
    """A training image from real tiles: mostly two tiles side by side (a
    square tile letterboxed into 512x288 leaves 44 % of the input grey, and
    pays for it), sometimes one letterboxed as the engine does, each at a
    scale around the engine's (a 640 tile becomes 288: 0.45)."""
    canvas = np.full((H, W, 3), 114, np.uint8)
    if rnd.random() < 0.25:
        img, boxes, _ = items[i]
        s = rnd.uniform(*REAL_SCALE) / REAL_KEEP
        bw = round(img.shape[1] * s)
        x0 = rnd.randint(0, max(0, W - bw))
        b = place(canvas, img, boxes, x0, min(W, x0 + bw), s, rnd)
    else:
        j = rnd.randrange(len(items))
        parts = []
        for k, (x0, x1) in zip((i, j), ((0, W // 2), (W // 2, W))):
            img, boxes, _ = items[k]
            parts.append(place(canvas, img, boxes, x0, x1, rnd.uniform(*REAL_SCALE) / REAL_KEEP, rnd))
        b = np.concatenate(parts)
    return canvas, b


def augment(img, boxes, rnd, rescale=True):
    img = img.copy()
    boxes = boxes.copy()
    if rnd.random() < 0.5:
        img = img[:, ::-1].copy()
        x1 = W - boxes[:, 3]
        boxes[:, 3] = W - boxes[:, 1]
        boxes[:, 1] = x1
    s = rnd.uniform(0.75, 1.3)
    if rescale and abs(s - 1) > 0.03:
        big = cv2.resize(img, (round(W * s), round(H * s)), interpolation=cv2.INTER_LINEAR)
        canvas = np.full((H, W, 3), 114, np.uint8)
        ox = rnd.randint(min(0, W - big.shape[1]), max(0, W - big.shape[1]))
        oy = rnd.randint(min(0, H - big.shape[0]), max(0, H - big.shape[0]))
        sx0, sy0 = max(0, -ox), max(0, -oy)
        dx0, dy0 = max(0, ox), max(0, oy)
        cw = min(W - dx0, big.shape[1] - sx0)
        ch = min(H - dy0, big.shape[0] - sy0)
        canvas[dy0:dy0 + ch, dx0:dx0 + cw] = big[sy0:sy0 + ch, sx0:sx0 + cw]
        img = canvas
        boxes[:, 1:] = boxes[:, 1:] * s + np.array([ox, oy, ox, oy], np.float32)
        area = (boxes[:, 3] - boxes[:, 1]) * (boxes[:, 4] - boxes[:, 2])
        clipped = boxes.copy()
        clipped[:, [1, 3]] = clipped[:, [1, 3]].clip(0, W)
        clipped[:, [2, 4]] = clipped[:, [2, 4]].clip(0, H)
        carea = (clipped[:, 3] - clipped[:, 1]).clip(0) * (clipped[:, 4] - clipped[:, 2]).clip(0)
        boxes = clipped[carea > 0.45 * area]
    # Brightness, contrast and a colour cast.
    a = rnd.uniform(0.6, 1.4)
    b = rnd.uniform(-25, 25)
    cast = np.array([rnd.uniform(0.9, 1.1) for _ in range(3)], np.float32)
    img = np.clip(img.astype(np.float32) * a * cast + b, 0, 255).astype(np.uint8)
    if rnd.random() < 0.2:
        img = cv2.GaussianBlur(img, (3, 3), 0)
    return img, boxes


def box_iou_giou(a, b):
    """a, b: [N,4] xyxy -> iou, giou (paired)."""
    ix1 = torch.max(a[:, 0], b[:, 0]); iy1 = torch.max(a[:, 1], b[:, 1])
    ix2 = torch.min(a[:, 2], b[:, 2]); iy2 = torch.min(a[:, 3], b[:, 3])
    inter = (ix2 - ix1).clamp(0) * (iy2 - iy1).clamp(0)
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]); ab = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = aa + ab - inter + 1e-7
    iou = inter / union
    cx1 = torch.min(a[:, 0], b[:, 0]); cy1 = torch.min(a[:, 1], b[:, 1])
    cx2 = torch.max(a[:, 2], b[:, 2]); cy2 = torch.max(a[:, 3], b[:, 3])
    c = (cx2 - cx1) * (cy2 - cy1) + 1e-7
    return iou, iou - (c - union) / c


def assign(points, gt):
    """Anchors inside a box and within 2.5 strides of its centre are positive
    (the nearest anchor at least); an anchor in several boxes takes the
    smallest. Returns gt index per anchor (-1 = background)."""
    A = points.shape[0]
    idx = torch.full((A,), -1, dtype=torch.long)
    if gt.shape[0] == 0:
        return idx
    x1, y1, x2, y2 = gt[:, 1], gt[:, 2], gt[:, 3], gt[:, 4]
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    px, py = points[:, 0:1], points[:, 1:2]  # [A,1]
    inside = (px > x1) & (px < x2) & (py > y1) & (py < y2)
    near = ((px - cx).abs() < 2.5 * STRIDE) & ((py - cy).abs() < 2.5 * STRIDE)
    cand = inside & near
    d2 = (px - cx) ** 2 + (py - cy) ** 2  # [A,G]
    nearest = d2.argmin(0)
    cand[nearest, torch.arange(gt.shape[0])] = True
    area = ((x2 - x1) * (y2 - y1)).unsqueeze(0).expand(A, -1)
    area = torch.where(cand, area, torch.full_like(area, float("inf")))
    best, arg = area.min(1)
    idx[best < float("inf")] = arg[best < float("inf")]
    return idx


def loss_fn(box_raw, cls_raw, targets, points):
    B = box_raw.shape[0]
    ltrb = decode_ltrb(box_raw)  # [B,A,4]
    cls = cls_raw.reshape(B, cls_raw.shape[1], -1).permute(0, 2, 1)  # [B,A,nc]
    cls_t = torch.zeros_like(cls)
    box_loss = torch.zeros(())
    npos = 0
    for i in range(B):
        gt = targets[i]
        idx = assign(points, gt)
        pos = idx >= 0
        n = int(pos.sum())
        if n == 0:
            continue
        npos += n
        g = gt[idx[pos]]
        p = points[pos]
        pred = torch.cat([p - ltrb[i, pos, :2], p + ltrb[i, pos, 2:]], 1)
        iou, giou = box_iou_giou(pred, g[:, 1:])
        box_loss = box_loss + (1 - giou).sum()
        cls_t[i, pos, g[:, 0].long()] = 0.5 + 0.5 * iou.detach().clamp(0, 1)
    npos = max(npos, 1)
    cls_loss = F.binary_cross_entropy_with_logits(cls, cls_t, reduction="sum") / npos
    return cls_loss + 5.0 * box_loss / npos, cls_loss.item(), (box_loss / npos).item()


class EMA:
    """Exponential moving average of the weights and batch-norm statistics,
    what is exported: the average of the last steps' weights scores better
    than any one of them. Its decay ramps up from 0 (the first steps follow
    the net) to decay over about tau steps."""

    def __init__(self, net, decay, tau=2000):
        self.net = copy.deepcopy(net).eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.decay, self.tau, self.updates = decay, tau, 0

    @torch.no_grad()
    def update(self, net):
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / self.tau))
        src = net.state_dict()
        for k, v in self.net.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(src[k].detach(), alpha=1 - d)


DESCRIPTION = "cropnet: fruit and grape cluster detector trained on cropstream simulator frames"


def export(net, path):
    net.eval()
    m = Exported(net)
    x = torch.zeros(1, 3, H, W)
    torch.onnx.export(m, x, path, input_names=["images"], output_names=["output0"], opset_version=13,
                      dynamic_axes={"images": {0: "batch", 2: "height", 3: "width"}, "output0": {0: "batch", 2: "anchors"}})
    model = onnx.load(path)
    meta = {
        "description": DESCRIPTION,
        "author": "cropstream",
        "task": "detect",
        "stride": str(STRIDE),
        "batch": "1",
        "imgsz": "[%d, %d]" % (H, W),
        "names": "{" + ", ".join("%d: '%s'" % (i, n) for i, n in enumerate(NAMES)) + "}",
    }
    for k, v in meta.items():
        e = model.metadata_props.add()
        e.key, e.value = k, v
    onnx.save(model, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", default="models/cropnet.onnx")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-minutes", type=float, default=0, help="stop early after this long (0: no limit)")
    ap.add_argument("--minutes", type=float, default=0,
                    help="train for this long, the learning rate's warm-up and cosine decay spread over the time instead of "
                         "the steps (on a shared machine the steps a time buys vary; the run logs how many it took)")
    ap.add_argument("--width", type=float, default=1.0,
                    help="channel multiplier of the stride-8 to 32 layers and the head (model.widths); --init must be of this width")
    ap.add_argument("--init", default="", help="start from these weights (a .pt written next to a previous --out, or from from_onnx.py)")
    ap.add_argument("--real", default="", help="Ultralytics data.yaml of real photos to train on too (its train split)")
    ap.add_argument("--real-share", type=float, default=0.6, help="share of each epoch's images drawn from --real")
    ap.add_argument("--real-scale", default="0.38,0.6",
                    help="range of the scale real tiles are drawn at (the engine shows a 640 tile at 0.45 at its default "
                         "288x512 input, at 0.6 with --imgsz 384, at 1 with --imgsz 640)")
    ap.add_argument("--sim-every", type=int, default=1, help="keep every n-th simulator image")
    ap.add_argument("--epoch-size", type=int, default=0, help="images per epoch (default: all of them once)")
    ap.add_argument("--ema", type=float, default=0, help="export an exponential moving average of the weights with this decay (0.999: about the last 1,000 steps); 0: the weights as they are")
    ap.add_argument("--keep-epochs", action="store_true", help="also write OUT-eN.onnx after each epoch, to choose one on validation data")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rnd = random.Random(args.seed)
    items = load(args.data)[:: args.sim_every]
    print("images", len(items), "boxes", sum(len(b) for _, b, _ in items), flush=True)
    global REAL_KEEP, REAL_SCALE
    REAL_SCALE = tuple(float(v) for v in args.real_scale.split(","))
    if len(REAL_SCALE) != 2 or not 0 < REAL_SCALE[0] <= REAL_SCALE[1] <= 1:
        raise SystemExit("--real-scale %r: want LO,HI with 0 < LO <= HI <= 1" % args.real_scale)
    REAL_KEEP = REAL_SCALE[1]
    real = load_real(args.real) if args.real else []
    if real:
        global DESCRIPTION
        DESCRIPTION += " and real photos (%s)" % os.path.basename(os.path.dirname(os.path.abspath(args.real)))
        print("real images", len(real), "boxes", sum(len(b) for _, b, _ in real), flush=True)
    size = args.epoch_size or len(items) + len(real)
    n_real = round(size * args.real_share) if real else 0
    net = CropNet(len(NAMES), args.width)
    if args.init:
        net.load_state_dict(torch.load(args.init))
    print("parameters", sum(p.numel() for p in net.parameters()), flush=True)
    ema = EMA(net, args.ema) if args.ema else None
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=5e-4)
    steps = args.epochs * math.ceil(size / args.batch)
    sched = None if args.minutes else torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.1)

    def timed_lr(frac):
        if frac < 0.05:
            return args.lr * (0.1 + 0.9 * frac / 0.05)
        return args.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, (frac - 0.05) / 0.95))))
    points = anchor_points(H // STRIDE, W // STRIDE)
    start = time.time()
    step = 0
    done = False
    for epoch in range(args.epochs):
        net.train()
        # Negative entries are real tiles (-1 - index).
        order = list(range(len(items)))
        if n_real or size != len(items):
            order = [rnd.randrange(len(items)) for _ in range(size - n_real)] + [-1 - rnd.randrange(len(real)) for _ in range(n_real)]
        rnd.shuffle(order)
        tot = 0.0
        for b0 in range(0, len(order), args.batch):
            if args.minutes:
                frac = (time.time() - start) / (args.minutes * 60)
                if frac >= 1:
                    done = True
                    break
                for g in opt.param_groups:
                    g["lr"] = timed_lr(frac)
            batch = [augment(*real_sample(real, -1 - j, rnd), rnd, rescale=False) if j < 0 else augment(items[j][0], items[j][1], rnd)
                     for j in order[b0:b0 + args.batch]]
            x = torch.from_numpy(np.stack([im[:, :, ::-1].transpose(2, 0, 1) for im, _ in batch]).copy()).float() / 255
            targets = [torch.from_numpy(bx) for _, bx in batch]
            box_raw, cls_raw = net(x)
            loss, lc, lb = loss_fn(box_raw, cls_raw, targets, points)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
            opt.step()
            if ema:
                ema.update(net)
            if sched and step < steps - 1:
                sched.step()
            step += 1
            tot += loss.item()
        print("epoch %d step %d loss %.4f (cls %.4f box %.4f) lr %.2e %.0fs" % (epoch, step, tot / max(1, math.ceil(min(len(order), b0 + args.batch) / args.batch)), lc, lb,
              opt.param_groups[0]["lr"], time.time() - start), flush=True)
        exported = ema.net if ema else net
        export(exported, args.out)
        if args.keep_epochs:
            export(exported, args.out[:-5] + "-e%d.onnx" % epoch)
        torch.save(exported.state_dict(), args.out[:-5] + ".pt")
        if done:
            print("trained %.1f minutes: %d steps of %d images" % ((time.time() - start) / 60, step, args.batch), flush=True)
            break
        if args.max_minutes and time.time() - start > args.max_minutes * 60:
            print("time limit reached", flush=True)
            break
    print("exported", args.out, flush=True)


if __name__ == "__main__":
    main()
