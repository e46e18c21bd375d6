#!/usr/bin/env bash
# Installs what cropstream needs on a Debian 12 machine, idempotently: quick
# when everything is there. Called by both README commands and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: OpenCV for gocv (decode, encode, video I/O), kcat for the
# interoperability test, pkg-config for cgo, ClickHouse for the sink tests
# (each test starts its own server on loopback; nothing runs as a service).
packages=(libopencv-dev kcat pkg-config clickhouse-server clickhouse-client)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

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

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    echo "setup: go is at /usr/local/go/bin; add it to PATH" >&2
  else
    echo "setup: Go 1.26 is required (https://go.dev/dl)" >&2
    exit 1
  fi
fi
