#!/usr/bin/env bash
# Train the real-photo detector, models/cropnet-real.onnx: simulator frames
# plus real apple photos (AppleBBCH81), with real tiles drawn at scales 0.5-1
# so that the model finds apples of 30-60 px (an input size of 512-576 for a
# 640x640 tile), fine-tuned at a low learning rate with an average of the
# weights (--ema) from the previous real-photo model (commit 1dddb0a's
# cropnet-real.onnx, which scripts/train_cropnet.sh of that commit made from
# 4706a53's, and that one's from the simulator-only model). See
# models/README.md for what each step is for and what the result scores.
#
#   scripts/train_cropnet.sh [MINUTES]      (default 85; on 2 CPU cores)
#   CHOSEN=out/model/cropnet-e90.onnx ...   ship that epoch instead of the last
#   IMGSZ=512 ...                           the input chosen on val (default 576)
#
# Needs: scripts/setup.sh (ONNX Runtime), Debian's python3-torch
# python3-torchvision python3-onnx python3-opencv run by /usr/bin/python3,
# and git access to github.com (the data set; APPLEBBCH81_GIT may name a
# local clone instead). Everything it writes but the model is under out/.
#
# The schedule is spread over MINUTES of wall-clock time (train.py
# --minutes), so a faster or busier machine takes more or fewer steps than
# the shipped run did (the log says how many).
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-85}
PY=/usr/bin/python3
INIT_COMMIT=1dddb0a

go build -o cropstream ./cmd/cropstream
[[ -f out/applebbch81/data.yaml ]] || scripts/applebbch81.sh out/applebbch81
if [[ ! -d out/train-data/s45 ]]; then
	# The simulator scenarios of the sim-only model, every 6th frame.
	$PY inference/train/make_data.py --out out/train-data --scenarios 24 --every 6
	$PY inference/train/make_data.py --out out/train-data --first 24 --scenarios 8 --crops grape --every 6
	$PY inference/train/make_data.py --out out/train-data --first 32 --scenarios 14 --crops grape --every 6
fi
mkdir -p out/model
git show "$INIT_COMMIT:models/cropnet-real.onnx" >out/model/cropnet-init.onnx
(cd inference/train && $PY from_onnx.py ../../out/model/cropnet-init.onnx --data ../../out/train-data --out ../../out/model/cropnet-init.pt)
(cd inference/train && $PY train.py --data ../../out/train-data --real ../../out/applebbch81/data.yaml \
	--init ../../out/model/cropnet-init.pt --out ../../out/model/cropnet.onnx \
	--minutes "$MINUTES" --epochs 1000 --epoch-size 800 --real-share 0.7 --real-scale 0.5,1.0 --lr 6e-4 --ema 0.999 --keep-epochs)

# Choose on validation data only: the real val split at each input size, and
# the simulator's validation scenarios at the default size. The card says
# which epoch and size the shipped run took, and why.
for m in $(ls out/model/cropnet-e*.onnx | sort -V | tail -4); do
	for sz in 448 512 576 640; do
		echo "== $m --imgsz $sz"
		./cropstream eval detect --model "$m" --imgsz $sz --data out/applebbch81/data.yaml --split val | tail -n +3 | head -1
	done
	for s in val601 val602 val603; do
		./cropstream eval detect --model "$m" --scenario benchmarks/scenarios/$s.yaml | sed -n 2p
	done
done
cp "${CHOSEN:-out/model/cropnet.onnx}" models/cropnet-real.onnx
go build -o cropstream ./cmd/cropstream
# The tracker's count scores belong to the model: calibrate them on the
# validation scenarios and write them into its metadata.
scores=$(./cropstream eval calibrate --model models/cropnet-real.onnx --scenarios benchmarks/scenarios/val601.yaml,benchmarks/scenarios/val602.yaml,benchmarks/scenarios/val603.yaml |
	sed -n 's/.*count_scores=\([0-9.,]*\).*/\1/p' | tail -1)
[[ -n $scores ]] || { echo "eval calibrate printed no count_scores" >&2; exit 1; }
$PY inference/train/set_metadata.py models/cropnet-real.onnx count_scores="$scores"
# The operating score (metadata conf, what eval detect reports precision and
# recall at): where precision and recall meet on the validation photos, on
# the curve eval detect samples every 0.05.
conf=$(./cropstream eval detect --model models/cropnet-real.onnx --imgsz "${IMGSZ:-576}" --data out/applebbch81/data.yaml --split val --json |
	$PY -c 'import json, sys; c = json.load(sys.stdin)["classes"][0]["curve"]; print(min((p for p in c if p["precision"] > 0), key=lambda p: abs(p["precision"] - p["recall"]))["conf"])')
$PY inference/train/set_metadata.py models/cropnet-real.onnx conf="$conf"
echo "models/cropnet-real.onnx: count_scores=$scores conf=$conf" >&2
