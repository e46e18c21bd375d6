"""Set (or replace) metadata entries of an ONNX model in place.

Used after training for what only an evaluation can tell, e.g.
    /usr/bin/python3 inference/train/set_metadata.py models/cropnet.onnx visible_score=0.755
(visible_score: the mean over the validation scenarios of the median score
`cropstream eval detect` reports for units 20-30 % visible; see the model card.)
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
        e = model.metadata_props.add()
        e.key, e.value = key, value
    onnx.save(model, path)


if __name__ == "__main__":
    main()
