#!/usr/bin/env bash
# Fetch the AppleBBCH81 apple detection data set and lay it out the way
# Ultralytics (and `cropstream eval detect --data`) expect:
#
#   OUT/data.yaml
#   OUT/images/{train,val,test}/*.jpg
#   OUT/labels/{train,val,test}/*.txt   (YOLO: class cx cy w h, normalised)
#
# Source: https://github.com/ai-agriculture-circuits-and-systems/AppleBBCH81
# at commit 982445d15077531a3bff0da27aa1764c64863fca (about 160 MB).
# Licence: CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). Cite:
#   S. Kodors et al., "Autonomous Yield Estimation System for Small Commercial
#   Orchards Using UAV and AI", Drones 8(12):734, 2024.
# 1,838 tiles of 640x640 cut with 30 % overlap from 3008x2000 photos of one
# orchard (LatHort, Dobele, Latvia), one class (apple); splits from its
# sets/{train,val,test}.txt (1,470 / 184 / 184).
#
# Only the YOLO labels (data/labels/) are used: the repository's COCO JSON
# files put the YOLO box centre where the top-left corner belongs, so every
# box there is shifted by half its size. A tile without a label file has no
# apples; it gets an empty one, so that it still counts in the evaluation.
#
# The data is not part of cropstream: OUT (default out/applebbch81) is under
# the git-ignored out/. Usage:
#
#   scripts/applebbch81.sh [OUT]
#
# APPLEBBCH81_GIT may name an existing clone (bare or not) to read instead of
# cloning from GitHub.
set -euo pipefail

COMMIT=982445d15077531a3bff0da27aa1764c64863fca
URL=https://github.com/ai-agriculture-circuits-and-systems/AppleBBCH81
OUT=${1:-out/applebbch81}

src=${APPLEBBCH81_GIT:-}
if [[ -z $src ]]; then
	src=$(mktemp -d)/AppleBBCH81.git
	trap 'rm -rf "$(dirname "$src")"' EXIT
	echo "cloning $URL" >&2
	git clone --quiet --bare "$URL" "$src"
fi
git --git-dir="$src" cat-file -e "$COMMIT^{commit}" ||
	{ echo "$src does not hold commit $COMMIT" >&2; exit 1; }

raw=$(mktemp -d)
trap 'rm -rf "$raw"; [[ -z ${APPLEBBCH81_GIT:-} ]] && rm -rf "$(dirname "$src")"' EXIT
git --git-dir="$src" archive "$COMMIT" data/images data/labels sets LICENSE | tar -x -C "$raw"

rm -rf "$OUT"
for split in train val test; do
	mkdir -p "$OUT/images/$split" "$OUT/labels/$split"
	n=0
	while read -r name; do
		name=${name%$'\r'}
		[[ -z $name ]] && continue
		mv "$raw/data/images/$name.jpg" "$OUT/images/$split/"
		if [[ -f $raw/data/labels/$name.txt ]]; then
			mv "$raw/data/labels/$name.txt" "$OUT/labels/$split/"
		else
			: >"$OUT/labels/$split/$name.txt"
		fi
		n=$((n + 1))
	done <"$raw/sets/$split.txt"
	echo "$split: $n images, $(awk NF "$OUT"/labels/$split/*.txt | wc -l) boxes" >&2
done
cp "$raw/LICENSE" "$OUT/LICENSE"
cat >"$OUT/data.yaml" <<EOF
# AppleBBCH81 ($URL, commit $COMMIT), CC BY 4.0.
# Kodors et al., Drones 8(12):734, 2024.
path: .
train: images/train
val: images/val
test: images/test
names:
  0: apple
EOF
echo "wrote $OUT" >&2
