"""Set (or replace, or with an empty value remove) metadata entries of an
ONNX model in place.

Used after training for what only an evaluation can tell, e.g.
    /usr/bin/python3 inference/train/set_metadata.py models/cropnet.onnx count_scores=0.702,0.737,0.651
(count_scores: what `cropstream eval calibrate` prints for the validation
scenarios; see the model card.)
"""
import sys

import onnx


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: set_metadata.py MODEL.onnx key=value [key=value ...]")
    path = sys.argv[1]
    model = onnx.load(path)
    for kv in sys.argv[2:]:
        key, sep, value = kv.partition("=")
        if not sep or not key:
            sys.exit("bad entry %r: want key=value" % kv)
        for p in list(model.metadata_props):
            if p.key == key:
                model.metadata_props.remove(p)
        if value:
            e = model.metadata_props.add()
            e.key, e.value = key, value
    onnx.save(model, path)


if __name__ == "__main__":
    main()
