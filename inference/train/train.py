"""Train cropnet on YOLO-format simulator exports and export it to ONNX.

    /usr/bin/python3 inference/train/make_data.py --out out/train-data
    /usr/bin/python3 inference/train/train.py --data out/train-data --out models/cropnet.onnx

Input is 512x288 (a 16:9 camera frame scaled by 0.4, other aspect ratios are
letterboxed by the engine). Deterministic given --seed, on one machine.
"""
import argparse
import glob
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


def augment(img, boxes, rnd):
    img = img.copy()
    boxes = boxes.copy()
    if rnd.random() < 0.5:
        img = img[:, ::-1].copy()
        x1 = W - boxes[:, 3]
        boxes[:, 3] = W - boxes[:, 1]
        boxes[:, 1] = x1
    s = rnd.uniform(0.75, 1.3)
    if abs(s - 1) > 0.03:
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


def export(net, path):
    net.eval()
    m = Exported(net, H, W)
    x = torch.zeros(1, 3, H, W)
    torch.onnx.export(m, x, path, input_names=["images"], output_names=["output0"], opset_version=13,
                      dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}})
    model = onnx.load(path)
    meta = {
        "description": "cropnet: fruit and grape cluster detector trained on cropstream simulator frames",
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
    ap.add_argument("--init", default="", help="start from these weights (a .pt written next to a previous --out)")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rnd = random.Random(args.seed)
    items = load(args.data)
    print("images", len(items), "boxes", sum(len(b) for _, b, _ in items), flush=True)
    net = CropNet(len(NAMES))
    if args.init:
        net.load_state_dict(torch.load(args.init))
    print("parameters", sum(p.numel() for p in net.parameters()), flush=True)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=5e-4)
    steps = args.epochs * math.ceil(len(items) / args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.1)
    points = anchor_points(H // STRIDE, W // STRIDE)
    start = time.time()
    step = 0
    for epoch in range(args.epochs):
        net.train()
        order = list(range(len(items)))
        rnd.shuffle(order)
        tot = 0.0
        for b0 in range(0, len(order), args.batch):
            batch = [augment(items[j][0], items[j][1], rnd) for j in order[b0:b0 + args.batch]]
            x = torch.from_numpy(np.stack([im[:, :, ::-1].transpose(2, 0, 1) for im, _ in batch]).copy()).float() / 255
            targets = [torch.from_numpy(bx) for _, bx in batch]
            box_raw, cls_raw = net(x)
            loss, lc, lb = loss_fn(box_raw, cls_raw, targets, points)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
            opt.step()
            if step < steps - 1:
                sched.step()
            step += 1
            tot += loss.item()
        print("epoch %d loss %.4f (cls %.4f box %.4f) %.0fs" % (epoch, tot / math.ceil(len(order) / args.batch), lc, lb, time.time() - start), flush=True)
        export(net, args.out)
        torch.save(net.state_dict(), args.out[:-5] + ".pt")
        if args.max_minutes and time.time() - start > args.max_minutes * 60:
            print("time limit reached", flush=True)
            break
    print("exported", args.out, flush=True)


if __name__ == "__main__":
    main()
