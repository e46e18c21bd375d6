#!/usr/bin/env bash
# Installs what cropstream needs on a Debian 12 machine, idempotently: quick
# when everything is there. Called by both README commands and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: OpenCV for gocv (encode, resize, video I/O), libjpeg-turbo
# for the detect stage's frame decode, kcat for the interoperability test,
# pkg-config for cgo, ClickHouse for the sink tests (each test starts its own
# server on loopback; nothing runs as a service), chromium for the live page's
# browser test (headless, driven by chromedp).
# prometheus brings promtool, which lints the metrics the tests scrape and
# checks and tests deploy/alerts.yml (metrics/rules_test.go).
packages=(libopencv-dev libjpeg62-turbo-dev kcat pkg-config clickhouse-server clickhouse-client prometheus chromium)
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

./scripts/fetch-ort.sh

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    echo "setup: go is at /usr/local/go/bin; add it to PATH" >&2
  else
    echo "setup: Go 1.26 is required (https://go.dev/dl)" >&2
    exit 1
  fi
fi
