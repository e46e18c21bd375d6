#!/usr/bin/env bash
# Fetches the ONNX Runtime CPU library (used by setup.sh and the Dockerfile).
set -euo pipefail
cd "$(dirname "$0")/.."

# ONNX Runtime (CPU, 1.29.0): no release download is reachable, so it comes
# from the npm registry package that ships it. It lands in
# third_party/onnxruntime/, which --ort-lib / $CROPSTREAM_ORT_LIB point at.
ort_dir=third_party/onnxruntime
ort_lib=$ort_dir/libonnxruntime.so
if [ ! -s "$ort_lib" ]; then
  echo "setup: fetching ONNX Runtime 1.29.0 (npm: com.github.asus4.onnxruntime@0.4.9)" >&2
  command -v npm >/dev/null 2>&1 || { echo "setup: npm is needed to fetch ONNX Runtime" >&2; exit 1; }
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --ignore-scripts --silent com.github.asus4.onnxruntime@0.4.9 >/dev/null)
  mkdir -p "$ort_dir"
  tar -xzf "$tmp"/com.github.asus4.onnxruntime-0.4.9.tgz -C "$tmp" package/Plugins/Linux/x64/libonnxruntime.so
  mv "$tmp"/package/Plugins/Linux/x64/libonnxruntime.so "$ort_lib"
  rm -rf "$tmp"
fi

