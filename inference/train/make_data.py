"""Render varied simulator scenarios with YOLO labels for detector training.

Seeds 1000+ are for training and validation; the builtin scenarios (seeds 7,
11, 23) and the evaluation seeds 500-599 are never used here.

    /usr/bin/python3 inference/train/make_data.py --out out/train-data --cropstream ./cropstream
"""
import argparse
import os
import random
import subprocess

TEMPLATE = """seed: {seed}
crop: {crop}
block: T{i}
rows: 1
plants_per_row: {plants}
plant_spacing_m: {spacing:.2f}
units_per_plant: {{mean: {units}, sd: {units_sd}}}
{mass}
occlusion: {occlusion:.2f}
camera: {{speed_mps: {speed:.2f}, fps: 10, width: 1280, height: 720, jitter_px: {jitter}, drop_rate: 0.02, view_width_m: {view:.2f}}}
lighting: {{min: {lmin:.2f}, max: {lmax:.2f}}}
"""


def scenario(i, rnd, crops):
    crop = crops[i % len(crops)]
    if crop == "grape":
        units = rnd.randint(12, 35)
        mass = "berries_per_cluster: {mean: %d, sd: %d}" % (rnd.randint(50, 130), 15)
    else:
        units = rnd.randint(40, 160)
        mass = "unit_mass_g: {mean: %d, sd: %d}" % (rnd.randint(110, 240), 25)
    lmin = rnd.uniform(0.35, 0.9)
    return TEMPLATE.format(
        seed=1000 + i, crop=crop, i=i, plants=rnd.randint(4, 7), spacing=rnd.uniform(1.0, 2.2),
        units=units, units_sd=max(1, units // 5), mass=mass, occlusion=rnd.uniform(0.1, 0.5),
        speed=rnd.uniform(0.6, 1.6), jitter=rnd.randint(0, 8), view=rnd.uniform(1.8, 3.4),
        lmin=lmin, lmax=lmin + rnd.uniform(0.2, 0.7))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--cropstream", default="./cropstream")
    ap.add_argument("--scenarios", type=int, default=24)
    ap.add_argument("--every", type=int, default=3, help="keep every n-th frame")
    ap.add_argument("--first", type=int, default=0, help="index of the first scenario (seed 1000 + index)")
    ap.add_argument("--crops", default="apple,apple,citrus,grape", help="crops in turn")
    args = ap.parse_args()
    rnd = random.Random(20261126 + args.first)
    os.makedirs(args.out, exist_ok=True)
    for i in range(args.first, args.first + args.scenarios):
        path = os.path.join(args.out, "scenario-%02d.yaml" % i)
        with open(path, "w") as f:
            f.write(scenario(i, rnd, args.crops.split(",")))
        subprocess.run([args.cropstream, "sim", "--scenario", path, "--out", os.path.join(args.out, "s%02d" % i),
                        "--export-yolo", "--yolo-every", str(args.every), "--video", "video.avi"], check=True)


if __name__ == "__main__":
    main()
