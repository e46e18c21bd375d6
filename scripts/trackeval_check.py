#!/usr/bin/python3
"""Score cropstream's MOTChallenge files with TrackEval itself, to check
`cropstream eval mot` (evaluation/standard.go) against the reference.

    git -C TRACKEVAL_GIT archive HEAD trackeval | tar -x -C /tmp/trackeval-src
    /usr/bin/python3 scripts/trackeval_check.py --trackeval /tmp/trackeval-src \
        --gt out/mot/gt.txt --tracks out/mot/tracks.txt
    cropstream eval mot --gt out/mot/gt.txt --tracks out/mot/tracks.txt --json

Needs Debian's python3-numpy and python3-scipy. The files are laid out as a
MOT17 sequence and evaluated by TrackEval's MotChallenge2DBox with its
preprocessing on: every class becomes pedestrian (raw truth), or, for the
visible-only scoring, truth under --min-visibility becomes class 8
(distractor), whose matched hypotheses TrackEval removes.
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np

# TrackEval still uses aliases that numpy 1.24 removed.
for name, typ in (("float", float), ("int", int), ("bool", bool)):
    if not hasattr(np, name):
        setattr(np, name, typ)


def layout(root, gt_lines, tr_lines, nframes):
    seq = "FIELD-01"
    gt_dir = os.path.join(root, "gt", "MOT17-train", seq, "gt")
    os.makedirs(gt_dir)
    with open(os.path.join(gt_dir, "gt.txt"), "w") as f:
        f.write("".join(gt_lines))
    with open(os.path.join(root, "gt", "MOT17-train", seq, "seqinfo.ini"), "w") as f:
        f.write("[Sequence]\nname=%s\nseqLength=%d\n" % (seq, nframes))
    os.makedirs(os.path.join(root, "gt", "seqmaps"))
    with open(os.path.join(root, "gt", "seqmaps", "MOT17-train.txt"), "w") as f:
        f.write("name\n%s\n" % seq)
    tr_dir = os.path.join(root, "trackers", "MOT17-train", "cropstream", "data")
    os.makedirs(tr_dir)
    with open(os.path.join(tr_dir, seq + ".txt"), "w") as f:
        f.write("".join(tr_lines))


def run(trackeval, gt_lines, tr_lines, nframes):
    with tempfile.TemporaryDirectory() as root:
        layout(root, gt_lines, tr_lines, nframes)
        ecfg = trackeval.Evaluator.get_default_eval_config()
        ecfg.update({"USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False,
                     "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False, "PLOT_CURVES": False,
                     "TIME_PROGRESS": False, "DISPLAY_LESS_PROGRESS": True})
        dcfg = trackeval.datasets.MotChallenge2DBox.get_default_dataset_config()
        dcfg.update({"GT_FOLDER": os.path.join(root, "gt"), "TRACKERS_FOLDER": os.path.join(root, "trackers"),
                     "BENCHMARK": "MOT17", "SPLIT_TO_EVAL": "train", "PRINT_CONFIG": False})
        ev = trackeval.Evaluator(ecfg)
        metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({"PRINT_CONFIG": False}),
                   trackeval.metrics.Identity({"PRINT_CONFIG": False})]
        res, _ = ev.evaluate([trackeval.datasets.MotChallenge2DBox(dcfg)], metrics)
        r = res["MotChallenge2DBox"]["cropstream"]["FIELD-01"]["pedestrian"]
        h, c, i = r["HOTA"], r["CLEAR"], r["Identity"]
        return {"hota": float(np.mean(h["HOTA"])), "deta": float(np.mean(h["DetA"])), "assa": float(np.mean(h["AssA"])),
                "loca": float(np.mean(h["LocA"])), "mota": float(c["MOTA"]), "motp": float(c["MOTP"]),
                "tp": int(c["CLR_TP"]), "fn": int(c["CLR_FN"]), "fp": int(c["CLR_FP"]), "id_switches": int(c["IDSW"]),
                "fragmentations": int(c["Frag"]), "mostly_tracked": int(c["MT"]), "mostly_lost": int(c["ML"]),
                "idf1": float(i["IDF1"]), "idtp": int(i["IDTP"])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trackeval", required=True, help="folder holding the trackeval package")
    ap.add_argument("--gt", required=True)
    ap.add_argument("--tracks", required=True)
    ap.add_argument("--min-visibility", type=float, default=0.25)
    a = ap.parse_args()
    sys.path.insert(0, a.trackeval)
    import trackeval  # noqa: E402

    gt = [l.strip().split(",") for l in open(a.gt) if l.strip()]
    tr = [l.strip().split(",") for l in open(a.tracks) if l.strip()]
    nframes = max(int(x[0]) for x in gt + tr)
    # Tracker rows: class column 8 must be pedestrian (1) for MOT17.
    tr_lines = ["%s,%s,%s,%s,%s,%s,1,1,-1\n" % tuple(x[:6]) for x in tr]
    raw_gt = ["%s,%s,%s,%s,%s,%s,1,1,%s\n" % (*x[:6], x[8]) for x in gt]
    vis_gt = ["%s,%s,%s,%s,%s,%s,1,%d,%s\n" % (*x[:6], 1 if float(x[8]) >= a.min_visibility else 8, x[8]) for x in gt]
    out = {"raw": run(trackeval, raw_gt, tr_lines, nframes), "visible_only": run(trackeval, vis_gt, tr_lines, nframes)}
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
